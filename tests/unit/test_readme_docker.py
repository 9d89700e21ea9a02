"""The README's container commands work on a fresh clone exactly as written — checked without Docker.

A fresh clone has no `.env`, so `docker run --env-file .env` needs the `cp .env.example .env` before it;
`--env-file` takes KEY=VALUE lines literally (no quotes, no `export`); trying the image needs `-it` and
`--sandbox`; and what the bot prints inside the container tells its user docker commands, never
`python app.py …`, which nobody can type into a container. The shell steps run for real on a clone.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def deploy_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Deploy", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.strip().splitlines() if line.split("#", 1)[0].strip()]


def docker_env_file(path: Path) -> dict[str, str]:
    """`docker run --env-file` semantics: `#` lines and blanks skipped, KEY=VALUE taken literally."""
    values = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and ENV_KEY.match(key), f"{path.name}:{number} is not KEY=VALUE for docker: {line!r}"
        assert not value.startswith(("'", '"')), f"{path.name}:{number}: docker keeps quotes literally"
        values[key] = value
    return values


def fresh_clone(tmp_path: Path) -> Path:
    """The committed tree and nothing else (no .env, no data): what `git clone` gives a new engineer."""
    clone = tmp_path / "clone"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    clone.mkdir()
    for name in filter(None, files.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            target = clone / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    assert not (clone / ".env").exists()
    return clone


def test_the_readme_deploy_commands_make_the_env_file_before_docker_reads_it(tmp_path):
    commands = deploy_commands()
    docker_run = next(i for i, c in enumerate(commands) if c.startswith("docker run") and "--env-file" in c)
    env_file = shlex.split(commands[docker_run])[shlex.split(commands[docker_run]).index("--env-file") + 1]
    build = next(c for c in commands if c.startswith("docker build"))
    image = shlex.split(build)[shlex.split(build).index("-t") + 1]
    assert shlex.split(commands[docker_run])[-1] == image  # runs the image it built

    clone = fresh_clone(tmp_path)
    for command in commands[:docker_run]:  # every step before `docker run` that needs no Docker, as written
        if command.startswith("docker "):
            continue
        subprocess.run(command, shell=True, cwd=clone, check=True)
    assert (clone / env_file).is_file(), f"`{commands[docker_run]}` on a fresh clone: {env_file} does not exist"
    env = docker_env_file(clone / env_file)

    # what the container's `python app.py` does with exactly that environment (the image's ENV included)
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert f"AIOPS_IMAGE={image}" in dockerfile
    run = subprocess.run([sys.executable, "app.py"], cwd=clone, capture_output=True, text=True, timeout=120,
                         env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATA_DIR": str(tmp_path / "data"),
                              "AIOPS_IMAGE": image, **env})
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "python app.py" not in run.stderr  # nobody can type that into a container
    assert f"docker run --rm -it {image} --sandbox" in run.stderr
    assert f"docker run --env-file .env {image}" in run.stderr


def test_the_readme_says_how_to_try_the_image_with_a_terminal_and_the_sandbox():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Deploy", 1)[1].split("\n## ", 1)[0]
    tries = [c for c in re.findall(r"`(docker run[^`]*)`", section) if "--sandbox" in c]
    assert tries, "the README does not say how to try the image"
    words = shlex.split(tries[0])
    assert "-it" in words and words[-1] == "--sandbox"  # the terminal chat needs stdin and a tty


def test_outside_a_container_the_hint_names_the_python_command(tmp_path):
    from app import not_configured_hint

    assert "python app.py --sandbox" in not_configured_hint(None)
    assert "docker run" not in not_configured_hint(None)

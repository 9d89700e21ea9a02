# Slim image, non-root, `python app.py` as the entrypoint (Slack mode; add --sandbox to try it locally).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data \
    ANONYMIZED_TELEMETRY=False \
    HF_HUB_OFFLINE=1

RUN useradd --create-home --uid 10001 aiops && mkdir -p /data && chown aiops /data
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY --chown=aiops . .

USER aiops
VOLUME ["/data"]
ENTRYPOINT ["python", "app.py"]

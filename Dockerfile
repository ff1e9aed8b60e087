# Labdesk: one image for the app (`python app.py`) and the task consumer
# (`huey_consumer tasks.huey -w 2 -k thread -f`). Data lives in the /data volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data \
    PORT=8080 \
    NICEGUI_STORAGE_PATH=/data/.nicegui

RUN groupadd --system labdesk \
    && useradd --system --gid labdesk --create-home --home-dir /home/labdesk --shell /usr/sbin/nologin labdesk

WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY requirements.txt .
RUN pip install -r requirements.txt

# The code stays owned by root: the app user can read it, not change it.
COPY . .

RUN mkdir -p /data && chown labdesk:labdesk /data
VOLUME ["/data"]

USER labdesk

EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://localhost:%s/healthz' % os.environ.get('PORT', '8080'), timeout=4)"]

CMD ["python", "app.py"]

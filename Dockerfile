# One image for the daemon (with its local GPU workers) and both bots.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    LORABOT_DATA_DIR=/data HF_HUB_OFFLINE=1
WORKDIR /app
# torch first (the CUDA build from PyPI on x86_64), then everything else constrained to it.
RUN pip install torch==2.13.0 && echo "torch==2.13.0" > /constraints.txt
COPY pyproject.toml README.md alembic.ini ./
COPY core core
COPY daemon daemon
COPY bots bots
COPY migrations migrations
RUN pip install -c /constraints.txt ".[train,telegram,discord]" \
    && pip install -c /constraints.txt --no-deps open-clip-torch
VOLUME ["/data"]
EXPOSE 8765
CMD ["lorabot", "daemon"]

# One image for the daemon (with its local GPU workers) and both bots.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    LORABOT_DATA_DIR=/data HF_HUB_OFFLINE=1
WORKDIR /app
# Exact versions from requirements.lock. torch is the one exception: the image takes the CUDA
# build of the same release from PyPI (with its nvidia-* wheels), the rest of the lock constrains
# what torch pulls in and is then installed as locked, without resolving anything anew.
COPY requirements.lock ./
RUN grep -v '^torch==' requirements.lock > /tmp/lock-without-torch.txt \
    && pip install -c /tmp/lock-without-torch.txt torch==2.13.0 \
    && pip install --no-deps -r /tmp/lock-without-torch.txt
COPY pyproject.toml README.md alembic.ini ./
COPY core core
COPY daemon daemon
COPY bots bots
COPY migrations migrations
RUN pip install --no-deps --no-build-isolation .
VOLUME ["/data"]
EXPOSE 8765
CMD ["lorabot", "daemon"]

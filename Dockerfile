# imnot_proxy in a container: the lean proxy on 0.0.0.0:8080 as a non-root user.
# Partner files are read from /app/partners; everything written (the SQLite store, the
# mitmproxy CA in mitmproxy/, record-mode HAR files in recordings/) goes to /app/data, so
# the container can run with a read-only root filesystem (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/app/data

WORKDIR /app
COPY pyproject.toml README.md /tmp/src/
COPY imnot_proxy /tmp/src/imnot_proxy
RUN pip install /tmp/src \
    && rm -rf /tmp/src \
    && useradd --system --uid 10001 --user-group --home-dir /app/data --no-create-home imnot \
    && mkdir -p /app/partners /app/data/mitmproxy \
    && chown -R imnot:imnot /app/data
COPY partners /app/partners

USER imnot
VOLUME ["/app/partners", "/app/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]

ENTRYPOINT ["imnot-proxy"]
CMD ["start", "--host", "0.0.0.0", "--port", "8080", "--partners", "/app/partners", "--db", "/app/data/imnot.db", "--confdir", "/app/data/mitmproxy", "--", "--set", "imnot_recordings=/app/data/recordings"]

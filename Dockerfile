# authai-embed serve in a container: the mount as its own server, a drop-in for the reference
# relay's image (same variables, same routes). See docs/standalone.md.
#   docker build -t authai-embed .
#   docker run -p 3000:3000 -v authai-data:/data \
#     -e AUTH_AI_JWT_SECRET=... -e AUTH_AI_IDENTITY_SECRET=... -e AUTH_AI_ORIGINATOR=my-app \
#     authai-embed

# Build the wheel in a throwaway stage; only the wheel reaches the runtime image.
FROM python:3.12-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir build
COPY pyproject.toml README.md LICENSE CHANGELOG.md ./
COPY src ./src
RUN python -m build --wheel --outdir /dist

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AUTH_AI_HOST=0.0.0.0 \
    AUTH_AI_PORT=3000 \
    AUTH_AI_DB_URL=sqlite:////data/authai.db
COPY --from=build /dist /dist
# The postgres extra lets AUTH_AI_DB_DRIVER=postgres work without another image.
RUN WHEEL="$(ls /dist/*.whl)" \
    && pip install --no-cache-dir "${WHEEL}[serve,postgres]" \
    && rm -rf /dist \
    && useradd --system --uid 10001 --home-dir /data --create-home authai
USER authai
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
# SIGTERM is a graceful shutdown (open streams get AUTH_AI_SHUTDOWN_GRACE seconds, default 30):
# give `docker stop` a longer timeout than that, e.g. `docker stop -t 40`.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
    CMD python -c "import urllib.request,os; urllib.request.urlopen('http://127.0.0.1:%s/' % os.environ.get('AUTH_AI_PORT', '3000'), timeout=4)"
CMD ["authai-embed", "serve"]

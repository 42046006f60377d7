# The modelops image: the collector a compile generates runs it (`modelops collect`), and CI jobs may.
#   docker build --build-arg VERSION=0.4.0 -t <registry>/modelops:0.4.0 .
# The version comes from the build argument (the build context has no .git for setuptools-scm).
FROM python:3.11-slim AS build
ARG VERSION=0.4.0
ENV SETUPTOOLS_SCM_PRETEND_VERSION=${VERSION} PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY compiler ./compiler
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && pip wheel --wheel-dir /wheels "$(ls /wheels/modelops_gitops-*.whl)[collector,kafka,compare]"

FROM python:3.11-slim
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links /wheels "$(ls /wheels/modelops_gitops-*.whl)[collector,kafka,compare]" \
 && rm -rf /wheels \
 && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin modelops \
 && mkdir -p /var/spool/modelops && chown modelops /var/spool/modelops
USER 10001
VOLUME /var/spool/modelops
EXPOSE 8080
ENTRYPOINT ["modelops"]
CMD ["collect", "--help"]

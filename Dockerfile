# syntax=docker/dockerfile:1
#
# deployml serving image. Two ways to use it:
#
#   generic image, artefact mounted at run time:
#     docker build -t deployml .
#     docker run --rm -p 8000:8000 -v "$PWD/my-model:/model:ro" deployml
#
#   artefact baked in, with the library versions its requirements.txt pins:
#     docker build -t my-model --build-arg ARTEFACT=my-model .
#     docker run --rm -p 8000:8000 my-model
#
#   the bundled example model, trained during the build (no download):
#     docker build -t deployml-example --target example .
#
# The final image holds a virtual environment at /opt/deployml and nothing else of the
# build: no compiler, no pip, no pip cache, no test suites of the scientific libraries.

ARG PYTHON_IMAGE=python:3.13-slim

# ---------------------------------------------------------------------------- build
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/deployml
WORKDIR /src
# Dependencies first, in a layer that only pyproject.toml invalidates, so editing the
# sources does not reinstall numpy, pandas and scikit-learn.
COPY pyproject.toml ./
RUN /opt/deployml/bin/python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/dependencies.txt \
 && /opt/deployml/bin/pip install -r /tmp/dependencies.txt
COPY README.md ./
COPY deployml/ deployml/
COPY packager/ packager/
COPY server/ server/
RUN /opt/deployml/bin/pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/deployml/bin/pip install /wheels/deployml-*.whl

# --------------------------------------------------------------------------- bundle
# With --build-arg ARTEFACT=DIR (a directory inside the build context written by
# `deployml package`), copy the artefact to /model and install exactly the library
# versions its requirements.txt pins, or fail the build saying why; then `deployml verify`
# it (hashes, loading, re-scoring its stored examples) with those versions. Without it, /model
# stays empty for a mount. Then strip what serving never needs.
FROM build AS bundle
ARG ARTEFACT=
# onnxruntime, to score compiled artefacts (model.onnx, `package --compile onnx`): the version
# a baked-in artefact's manifest records; for the generic image only if asked for, with
# --build-arg ONNXRUNTIME=VERSION (it adds about 80 MB; without it a mounted compiled artefact
# is scored by scikit-learn, which the server logs once and /metadata says).
ARG ONNXRUNTIME=
RUN --mount=type=bind,target=/context \
    set -eu; \
    mkdir /model; \
    if [ -n "$ARTEFACT" ]; then \
      if [ ! -f "/context/$ARTEFACT/manifest.json" ]; then \
        echo "error: ARTEFACT=$ARTEFACT has no manifest.json; name a directory written by 'deployml package', relative to the build context" >&2; \
        exit 1; \
      fi; \
      cp -R "/context/$ARTEFACT/." /model/; \
      if [ -f /model/requirements.txt ]; then \
        if ! /opt/deployml/bin/pip install -r /model/requirements.txt; then \
          echo "error: cannot install the versions pinned by $ARTEFACT/requirements.txt on $(/opt/deployml/bin/python -V) (see pip's message above); re-package the model with versions that have wheels for this Python, or build FROM a Python image matching the training one with --build-arg PYTHON_IMAGE=python:X.Y-slim" >&2; \
          exit 1; \
        fi; \
        if ! /opt/deployml/bin/pip check; then \
          echo "error: the versions pinned by $ARTEFACT/requirements.txt conflict with deployml's own requirements (see above)" >&2; \
          exit 1; \
        fi; \
      fi; \
      if [ -f /model/model.onnx ] && [ -z "$ONNXRUNTIME" ]; then \
        ONNXRUNTIME="$(/opt/deployml/bin/python -c "import json; print(json.load(open('/model/manifest.json'))['compiled']['runtime']['version'])")"; \
      fi; \
    fi; \
    if [ -n "$ONNXRUNTIME" ]; then \
      /opt/deployml/bin/pip install "onnxruntime==$ONNXRUNTIME"; \
    fi; \
    if [ -n "$ARTEFACT" ]; then \
      /opt/deployml/bin/deployml verify /model; \
    fi; \
    /opt/deployml/bin/pip list --format=freeze --exclude pip > /opt/deployml/versions.txt; \
    /opt/deployml/bin/pip uninstall --yes --quiet pip; \
    find /opt/deployml/lib -depth -type d -name tests -path '*/site-packages/*' -exec rm -rf {} +

# -------------------------------------------------------------- example artefact
FROM bundle AS example-artefact
RUN /opt/deployml/bin/deployml example -o /model-example

# ------------------------------------------------------------------------- base
FROM ${PYTHON_IMAGE} AS base
# A fixed numeric id, so that Kubernetes' runAsNonRoot can check it.
RUN groupadd --gid 10001 deployml \
 && useradd --uid 10001 --gid deployml --no-create-home --no-log-init \
      --home-dir /nonexistent --shell /usr/sbin/nologin deployml
ENV PATH=/opt/deployml/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DEPLOYML_ARTEFACT=/model \
    DEPLOYML_HOST=0.0.0.0 \
    DEPLOYML_PORT=8000
LABEL org.opencontainers.image.title="deployml" \
      org.opencontainers.image.description="Serves a scikit-learn model packaged by deployml; library versions in /opt/deployml/versions.txt"
EXPOSE 8000
# Readiness, not liveness: an unhealthy container is one that cannot answer /predict.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('DEPLOYML_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/readyz', timeout=4).status == 200 else 1)"]
USER 10001:10001
CMD ["gunicorn", "--config", "python:server.gunicorn_config", "server.gunicorn_config:app()"]

# -------------------------------------------------- example image (for compose)
FROM base AS example
COPY --from=bundle /opt/deployml /opt/deployml
COPY --from=example-artefact /model-example /model

# ---------------------------------------------------------------------- runtime
FROM base AS runtime
COPY --from=bundle /opt/deployml /opt/deployml
COPY --from=bundle /model /model

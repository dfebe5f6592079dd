# One image for every function; each function picks its handler with ImageConfig.Command.
# BASE_IMAGE defaults to AWS's Lambda Python base for arm64 (Graviton). Any base that has
# Python 3.11+ and the Lambda runtime interface client as its entrypoint works (see
# container/base.Dockerfile, which builds one from Debian for offline tests).
ARG BASE_IMAGE=public.ecr.aws/lambda/python:3.12-arm64

FROM ${BASE_IMAGE} AS dependencies
# Set only where pip must trust a TLS-intercepting proxy (a CA bundle mounted with -v).
ARG PIP_CERT
COPY requirements/runtime.txt requirements/runtime-no-deps.txt /tmp/
# Wheels only: a source build would mean a compiler, which the final image must not carry.
RUN python3 -m pip install --no-cache-dir --only-binary=:all: --target /opt/python -r /tmp/runtime.txt \
 && python3 -m pip install --no-cache-dir --only-binary=:all: --target /opt/python --no-deps \
      -r /tmp/runtime-no-deps.txt \
 && rm -rf /opt/python/bin

FROM ${BASE_IMAGE}
# Where the model comes from: the repo's copy (the default: builds offline), or a registry version
# fetched and verified by `make fetch-model` (MODEL_SOURCE=build/registry-model). Not called MODEL_DIR:
# the ENV of that name below would shadow an ARG of the same name.
ARG MODEL_SOURCE=layers/sentiment_model/model
# The shadow candidate (docs/deploy.md): none by default; a registry version fetched and verified by
# `make fetch-shadow-model` (SHADOW_MODEL_SOURCE=build/shadow-model). Only the shadow function loads it.
ARG SHADOW_MODEL_SOURCE=container/no-shadow-model
ENV PYTHONPATH=/var/task:/opt/python \
    MODEL_DIR=/opt/model
# Laid out as Lambda lays out layers: code under /opt/python, the model under /opt/model.
COPY --from=dependencies /opt/python /opt/python
COPY layers/sentiment_core/python/ /opt/python/
COPY ${MODEL_SOURCE}/ /opt/model/
COPY ${SHADOW_MODEL_SOURCE}/ /opt/shadow-model/
COPY functions/ /var/task/functions/
# Lambda's file system is read-only: bytecode compiled now saves compiling it at every cold start.
RUN python3 -m compileall -q -j 0 /opt/python /var/task/functions
WORKDIR /var/task
CMD ["functions.api.app.lambda_handler"]

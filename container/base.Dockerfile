# A Lambda-compatible Python base built from Debian packages, for offline tests of the
# project's image (no container registry is reachable there). In AWS the project image
# builds on public.ecr.aws/lambda/python:3.12-arm64 instead.
ARG ROOTFS
FROM ${ROOTFS}
# Set only where pip must trust a TLS-intercepting proxy (a CA bundle mounted with -v).
ARG PIP_CERT
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-pip ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m pip install --no-cache-dir --break-system-packages --only-binary=:all: awslambdaric==4.2.2
ENV LAMBDA_TASK_ROOT=/var/task
WORKDIR /var/task
# The runtime interface client: what makes a non-AWS image a Lambda image.
ENTRYPOINT ["python3", "-m", "awslambdaric"]

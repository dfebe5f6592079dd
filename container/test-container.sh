#!/usr/bin/env bash
# Build the function image for amd64 and arm64 (container/build-images.sh) and run each under the
# real Lambda Runtime Interface Emulator; then `sam local invoke` of each function with its events/
# file and a `sam local start-api` answering curl, against the image for this machine's CPU, through
# podman's Docker API (container/check_sam_local.py). Reruns reuse what is built.
#
#   container/test-container.sh            (make test-container)
#   ARCHES="arm64" container/test-container.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export ARCHES=${ARCHES:-"amd64 arm64"}
export CONTAINERS_CONF="$PWD/container/containers.conf"  # runc; crun fails on setrlimit here
WORK=${CONTAINER_WORK_DIR:-build/container}
RIE_DIR=$(ls -d .tools/sam/lib/python3*/site-packages/samcli/local/rapid)
case "$(uname -m)" in x86_64) HOST_ARCH=amd64 ;; aarch64) HOST_ARCH=arm64 ;; *) HOST_ARCH=$(uname -m) ;; esac

container/build-images.sh
.venv/bin/python -m container.check_images --rie-dir "$RIE_DIR" --report "$WORK/report.json" $ARCHES
if [[ " $ARCHES " == *" $HOST_ARCH "* ]]; then
  printf '\n== sam local (%s image, through podman'"'"'s Docker API)\n' "$HOST_ARCH"
  .venv/bin/python -m container.check_sam_local
else
  echo "sam local skipped: ARCHES ($ARCHES) leaves out this machine's architecture ($HOST_ARCH)"
fi

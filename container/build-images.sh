#!/usr/bin/env bash
# Build the function image, localhost/imdb-sentiment:<arch>, for each of ARCHES (default: this
# machine's). What it needs comes from Debian's packages; the base images are built from Debian
# (no registry is reachable); reruns reuse what is built.
#
#   container/build-images.sh                 (make local-image: this machine's architecture)
#   ARCHES="amd64 arm64" container/build-images.sh
set -euo pipefail
cd "$(dirname "$0")/.."

case "$(uname -m)" in x86_64) HOST_ARCH=amd64 ;; aarch64) HOST_ARCH=arm64 ;; *) HOST_ARCH=$(uname -m) ;; esac
ARCHES=${ARCHES:-$HOST_ARCH}
WORK=${CONTAINER_WORK_DIR:-build/container}
mkdir -p "$WORK"
export CONTAINERS_CONF="$PWD/container/containers.conf"

log() { printf '\n== %s\n' "$*"; }

install_tools() {
  local missing=() emulate=""
  for arch in $ARCHES; do [[ $arch != "$HOST_ARCH" ]] && emulate=1; done
  for tool in podman runc debootstrap ${emulate:+qemu-aarch64-static update-binfmts}; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  if ((${#missing[@]})); then
    log "installing podman, runc, debootstrap${emulate:+, qemu-user-static, binfmt-support}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc debootstrap \
      ${emulate:+qemu-user-static binfmt-support}
  fi
  if [[ -n $emulate && ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
    log "registering qemu-aarch64 with binfmt_misc"
    mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    update-binfmts --enable qemu-aarch64
  fi
}

base_image() {  # arch -> localhost/lambda-python-base:<arch>
  local arch=$1 rootfs_image="localhost/debian-bookworm-minbase:$1" base="localhost/lambda-python-base:$1"
  if ! podman image exists "$rootfs_image"; then
    log "debootstrap Debian bookworm ($arch)"
    local rootfs="$WORK/rootfs-$arch"
    rm -rf "$rootfs"
    debootstrap --variant=minbase --arch="$arch" bookworm "$rootfs" http://deb.debian.org/debian >"$WORK/debootstrap-$arch.log"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*  # not worth shipping
    tar -C "$rootfs" -c . | podman import --arch "$arch" - "$rootfs_image" >/dev/null
    rm -rf "$rootfs"
  fi
  if ! podman image exists "$base"; then
    log "base image $base"
    podman build --arch "$arch" --network host -f container/base.Dockerfile \
      -v /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro --build-arg PIP_CERT=/run/host-ca.crt \
      --build-arg ROOTFS="$rootfs_image" -t "$base" container/
  fi
}

build_image() {  # arch -> localhost/imdb-sentiment:<arch>
  local arch=$1
  log "project image ($arch)"
  podman build --arch "$arch" --network host \
    -v /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro --build-arg PIP_CERT=/run/host-ca.crt \
    --build-arg BASE_IMAGE="localhost/lambda-python-base:$arch" -t "localhost/imdb-sentiment:$arch" .
}

install_tools
for arch in $ARCHES; do
  base_image "$arch"
  build_image "$arch"
done

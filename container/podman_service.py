"""podman's Docker-compatible API on a private socket, for the SAM CLI (`sam local`, DOCKER_HOST)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONTAINERS_CONF = REPO / "container" / "containers.conf"


@contextlib.contextmanager
def docker_api(socket_dir: Path) -> Iterator[str]:
    """Serve podman's Docker API while the block runs; yields the DOCKER_HOST value."""
    if not shutil.which("podman"):
        raise SystemExit("podman is not installed: make local-image installs it (root, Debian)")
    socket_dir.mkdir(parents=True, exist_ok=True)
    socket = socket_dir / f"podman-{os.getpid()}.sock"
    socket.unlink(missing_ok=True)
    # Without this configuration runc fails on setrlimit on these machines (container/containers.conf).
    env = {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}
    service = subprocess.Popen(
        ["podman", "system", "service", "--time=0", f"unix://{socket}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not socket.exists():
            if service.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("podman system service did not start")
            time.sleep(0.2)
        yield f"unix://{socket}"
    finally:
        stop(service, timeout=10)
        socket.unlink(missing_ok=True)


def stop(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()

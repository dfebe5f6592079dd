"""The local run (`python -m local_run`, what `make run` starts) as a fixture, on free ports."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from dataclasses import dataclass

import pytest
import requests

from tests.helpers import free_port, spawn_local_run


@dataclass
class LocalRun:
    url: str
    aws_endpoint: str
    process: subprocess.Popen
    output: list[str]


def _drain(stream, lines: list[str]) -> None:
    # Read the run's output as it comes: a full pipe would block the server mid-request.
    for line in stream:
        lines.append(line)


@pytest.fixture(scope="session")
def local_run():
    port, aws_port = free_port(), free_port()
    process = spawn_local_run(port, aws_port)
    output: list[str] = []
    reader = threading.Thread(target=_drain, args=(process.stdout, output), daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "".join(output)
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, "local run did not come up in 60 s"
        time.sleep(0.3)
    yield LocalRun(url=url, aws_endpoint=f"http://127.0.0.1:{aws_port}", process=process, output=output)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    reader.join(timeout=10)
    assert process.returncode == 0, "".join(output[-200:])
    assert "stopped" in "".join(output[-5:])

"""Over HTTP against the local run: bodies over the limit, broken framing, a stalled client, and a
corrupt model artifact. None of them may hang the service or make it claim to be healthy."""

from __future__ import annotations

import json
import shutil
import socket
import time

import requests

from sentiment_core import settings
from tests.helpers import free_port, spawn_local_run

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's request quota, which the local run applies too


def raw_request(url: str, head: bytes, body: bytes = b"", wait_s: float = 10) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait_s) as s:
        s.sendall(head + body)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                break
        return b"".join(chunks)


def test_a_body_over_the_limit_is_413_without_being_read(local_run):
    head = (
        f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n"
    ).encode()
    started = time.monotonic()
    answer = raw_request(local_run.url, head)  # the body is never sent: the answer may not wait for it
    assert answer.startswith(b"HTTP/1.1 413") and time.monotonic() - started < 5
    assert requests.get(f"{local_run.url}/health", timeout=10).status_code == 200


def test_a_body_at_the_limit_is_read_and_refused_by_the_api(local_run):
    body = json.dumps({"text": "x" * (MAX_BODY_BYTES - 12)}).encode()
    assert len(body) == MAX_BODY_BYTES
    response = requests.post(
        f"{local_run.url}/predict", data=body, headers={"content-type": "application/json"}, timeout=60
    )
    assert response.status_code == 422 and "at most 20000 characters" in response.text


def test_negative_or_garbage_content_length_is_400_not_a_hang(local_run):
    for length in (b"-1", b"ten"):
        head = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n"
        assert raw_request(local_run.url, head, b'{"text": "x"}').startswith(b"HTTP/1.1 400")


def test_a_stalled_client_does_not_hold_up_the_others(local_run):
    host, port = local_run.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as stalled:
        stalled.sendall(b'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"text": ')
        started = time.monotonic()
        response = requests.post(f"{local_run.url}/predict", json={"text": "Loved it."}, timeout=10)
        assert response.status_code == 200 and time.monotonic() - started < 10


def test_a_corrupt_model_stops_the_run_at_init_and_health_never_answers(tmp_path):
    artifact = tmp_path / "model"
    shutil.copytree(settings.current().model_dir, artifact)
    with open(artifact / "model.onnx", "r+b") as f:
        f.seek(8192)
        f.write(b"\x00\xff\x00\xff")
    port = free_port()
    process = spawn_local_run(port, free_port(), MODEL_DIR=str(artifact))
    answered = []
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        try:
            answered.append(requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code)
        except requests.ConnectionError:
            time.sleep(0.2)
    if process.poll() is None:
        process.kill()
    output = process.communicate(timeout=30)[0]
    assert process.returncode not in (0, None)
    assert answered == []  # nothing ever said healthy
    assert "model failed to load: model artifact unusable" in output
    assert "model.onnx does not match its sha256 in the manifest" in output

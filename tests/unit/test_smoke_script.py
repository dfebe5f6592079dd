"""scripts/smoke_test.py fails when a deployed API answers wrongly (a stub API, no model)."""

from __future__ import annotations

import importlib.util
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "smoke_test.py"
spec = importlib.util.spec_from_file_location("smoke_test", SCRIPT)
smoke_test = importlib.util.module_from_spec(spec)
spec.loader.exec_module(smoke_test)


class StubApi(BaseHTTPRequestHandler):
    """Answers like the API, with labels from `answer` (the class attribute tests set)."""

    answer = staticmethod(lambda texts: ["positive"] * len(texts))
    job_texts: ClassVar[list[str]] = []

    def log_message(self, *_):
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            self._send(200, {"status": "ok", "model": {"name": "m", "version": "1"}, "sha256": "a" * 64})
        else:  # /jobs/<id>
            labels = type(self).answer(StubApi.job_texts)
            self._send(200, {"status": "done", "predictions": [{"label": label} for label in labels]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        texts = [body["text"]] if "text" in body else body.get("texts", [])
        if not texts:
            self._send(422, {"error": "invalid request"})
        elif self.path == "/jobs":
            StubApi.job_texts = texts
            self._send(202, {"job_id": "j1", "status": "queued"})
        else:
            self._send(200, {"predictions": [{"label": label} for label in type(self).answer(texts)]})


@pytest.fixture
def stub():
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_correct_api_passes(stub, monkeypatch, capsys):
    known = dict(zip(*smoke_test.known_reviews(), strict=True))

    def right(texts):
        return [known.get(text, "positive") for text in texts]

    monkeypatch.setattr(StubApi, "answer", staticmethod(right))
    assert smoke_test.main(["--api-url", stub, "--expect-sha256", "a" * 64, "--wait", "5"]) == 0
    assert capsys.readouterr().out.count("ok    ") == 4


def test_wrong_labels_fail(stub, capsys):
    assert smoke_test.main(["--api-url", stub, "--wait", "5"]) == 1  # the stub says positive to everything
    out = capsys.readouterr().out
    assert "FAIL  predict: known reviews: status 200, labels ['positive', 'positive'" in out
    assert "FAIL  job" in out and "check(s) failed" in out


def test_an_unreachable_api_fails_fast(capsys):
    assert smoke_test.main(["--api-url", "http://127.0.0.1:9", "--wait", "1"]) == 1
    assert "FAIL  health: /health did not answer 200" in capsys.readouterr().out


def test_an_api_that_drops_predictions_fails(stub, monkeypatch, capsys):
    monkeypatch.setattr(StubApi, "answer", staticmethod(lambda texts: ["positive"]))
    assert smoke_test.main(["--api-url", stub, "--no-jobs", "--wait", "5"]) == 1
    # The first event of more than one text, in name order, is the explained one.
    assert "FAIL  predict: events/api_predict_explain.json: status 200, expected 2 predictions" in (
        capsys.readouterr().out
    )


def test_the_known_reviews_cover_both_labels():
    texts, labels = smoke_test.known_reviews()
    assert len(texts) == len(set(texts)) >= 4 and set(labels) == {"positive", "negative"}

"""Smoke test of a running API (deployed, or `make run`): the events/ requests and their known answers.

    python scripts/smoke_test.py --api-url https://<id>.execute-api.<region>.amazonaws.com \
        [--expect-sha256 <model.onnx sha256>] [--no-jobs]

Checks: /health answers ok (waiting out a cold start) and serves the expected model; each predict
event's body is answered, one prediction per text; the known reviews (the PreTraffic hook's) get
their labels; the bad-request event gets 422; a job round-trips through the queue and the worker.
Standard library only: it runs on any Python 3.11+, no project install needed.
Exit status 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events"
KNOWN_REVIEWS = REPO / "functions" / "pretraffic" / "known_reviews.json"  # the hook's, and the tests'
BAD_REQUEST_EVENT = "api_predict_bad_request.json"


class CheckFailed(AssertionError):
    pass


def request(url: str, method: str = "GET", body: str | None = None, timeout: float = 30) -> tuple[int, dict]:
    data = body.encode() if body is not None else None
    headers = {"content-type": "application/json", "user-agent": "imdb-sentiment-smoke-test"}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else {}
    except ValueError:
        raise CheckFailed(f"{method} {url}: {status} with a body that is not JSON: {raw[:200]!r}") from None


def event_body(name: str) -> str:
    return json.loads((EVENTS / name).read_text())["body"]


def known_reviews() -> tuple[list[str], list[str]]:
    """The reviews every served model must answer right, and their labels."""
    reviews = json.loads(KNOWN_REVIEWS.read_text())
    return [r["text"] for r in reviews], [r["label"] for r in reviews]


def check_health(api: str, expect_sha256: str | None, wait_s: float) -> str:
    deadline = time.monotonic() + wait_s
    while True:  # a fresh deployment's first request can meet a cold start or a 503 while the model loads
        try:
            status, body = request(f"{api}/health")
            if status == 200:
                break
            problem = f"status {status}: {body}"
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            problem = str(error)
        if time.monotonic() > deadline:
            raise CheckFailed(f"/health did not answer 200 within {wait_s:.0f} s ({problem})")
        time.sleep(2)
    if body.get("status") != "ok":
        raise CheckFailed(f"/health status is {body.get('status')!r}")
    if expect_sha256 and body.get("sha256") != expect_sha256:
        raise CheckFailed(f"/health serves model sha256 {body.get('sha256')}, expected {expect_sha256}")
    model = body.get("model", {})
    registry = (body.get("registry") or {}).get("uri", "repo")
    return f"{model.get('name')} {model.get('version')} sha256 {str(body.get('sha256'))[:12]} from {registry}"


def check_predict(api: str) -> str:
    answered = 0
    for event in sorted(p.name for p in EVENTS.glob("api_predict_*.json")):
        if event == BAD_REQUEST_EVENT:
            continue
        body = json.loads(event_body(event))
        status, answer = request(f"{api}/predict", "POST", json.dumps(body))
        sent = len(body.get("texts", [body.get("text")]))
        if status != 200 or len(answer.get("predictions", [])) != sent:
            raise CheckFailed(f"events/{event}: status {status}, expected {sent} predictions: {answer}")
        answered += sent
    texts, expected = known_reviews()
    status, answer = request(f"{api}/predict", "POST", json.dumps({"texts": texts}))
    labels = [p["label"] for p in answer.get("predictions", [])]
    if status != 200 or labels != expected:
        raise CheckFailed(f"known reviews: status {status}, labels {labels}, expected {expected}")
    return f"{answered} event reviews answered, {len(texts)} known reviews answered correctly"


def check_bad_request(api: str) -> str:
    status, body = request(f"{api}/predict", "POST", event_body(BAD_REQUEST_EVENT))
    if status != 422 or not body.get("error"):
        raise CheckFailed(f"events/{BAD_REQUEST_EVENT}: status {status}, expected 422 with an error: {body}")
    return "422 with an error body"


def check_job(api: str, wait_s: float) -> str:
    texts, expected = known_reviews()
    status, body = request(f"{api}/jobs", "POST", json.dumps({"texts": texts}))
    if status != 202 or "job_id" not in body:
        raise CheckFailed(f"POST /jobs: status {status}: {body}")
    job_id, deadline = body["job_id"], time.monotonic() + wait_s
    while True:
        status, body = request(f"{api}/jobs/{job_id}")
        if status == 200 and body.get("status") == "done":
            break
        if status != 200 or body.get("status") == "failed":
            raise CheckFailed(f"GET /jobs/{job_id}: status {status}: {body}")
        if time.monotonic() > deadline:
            raise CheckFailed(f"job {job_id} still {body.get('status')} after {wait_s:.0f} s")
        time.sleep(1)
    labels = [p["label"] for p in body["predictions"]]
    if labels != expected:
        raise CheckFailed(f"job {job_id}: labels {labels}, expected {expected}")
    return f"job {job_id} done with the known labels"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api-url", required=True, help="base URL (the stack's ApiUrl output)")
    parser.add_argument("--expect-sha256", help="the model.onnx sha256 the API must serve")
    parser.add_argument("--no-jobs", action="store_true", help="skip the job round trip")
    parser.add_argument("--wait", type=float, default=120, help="seconds to wait for /health and a job")
    args = parser.parse_args(argv)
    api = args.api_url.rstrip("/")

    checks = [
        ("health", lambda: check_health(api, args.expect_sha256, args.wait)),
        ("predict", lambda: check_predict(api)),
        ("bad request", lambda: check_bad_request(api)),
    ]
    if not args.no_jobs:
        checks.append(("job", lambda: check_job(api, args.wait)))
    failed = 0
    for name, check in checks:
        try:
            print(f"ok    {name}: {check()}", flush=True)
        except (CheckFailed, urllib.error.URLError, TimeoutError, ConnectionError) as error:
            failed += 1
            print(f"FAIL  {name}: {error}", flush=True)
            if name == "health":
                break  # nothing else can pass
    print(f"smoke test of {api}: {'passed' if not failed else f'{failed} check(s) failed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

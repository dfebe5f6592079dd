"""Load test of the HTTP API: users sending single and batch predicts (and the odd health check).

Against the local run (tests/integration/test_load.py starts it and asserts the result):

    .venv/bin/locust -f tests/load/locustfile.py --headless -u 10 -r 10 -t 20s --host http://127.0.0.1:3000

Against a deployed stack (the ApiUrl output):

    .venv/bin/locust -f tests/load/locustfile.py --headless -u 50 -r 10 -t 5m --host "$API_URL" --csv load

With ApiAuthorizer=JWT set LOAD_TEST_TOKEN to a token (sent as a bearer token); with ApiAuthorizer=IAM
set LOAD_TEST_SIGV4=1 to sign each request with the AWS credentials of the environment. Every answer
is checked: a predict must come back 200 with one valid prediction per text, in order.
"""

from __future__ import annotations

import math
import os
import random
import re

import requests
from locust import HttpUser, between, task

REVIEWS = [
    "A wonderful film. The cast is superb and the story moved me to tears.",
    "Dreadful. Badly acted, far too long and the ending makes no sense at all.",
    "I expected little and was pleasantly surprised: funny, warm and well paced.",
    "Two hours of my life I will never get back. Avoid.",
    "The photography is gorgeous but the script is thin; still, worth a look on a rainy day.",
    "One of the best thrillers of the decade, with a twist I did not see coming. " * 4,
    "Boring from start to finish. The jokes fall flat and the characters are cardboard. " * 6,
    "A masterpiece of quiet storytelling; every scene earns its place. " * 12,
]
SINGLE, BATCH = 1, 8


class SigV4(requests.auth.AuthBase):
    """Signs requests for an API whose routes use the IAM authorizer (ApiAuthorizer=IAM)."""

    def __init__(self, host: str) -> None:
        import boto3

        match = re.search(r"execute-api\.([a-z0-9-]+)\.amazonaws", host)
        self.region = match.group(1) if match else os.environ.get("AWS_REGION", "us-east-1")
        self.credentials = boto3.Session().get_credentials()

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        signed = AWSRequest(method=r.method, url=r.url, data=r.body, headers=dict(r.headers))
        SigV4Auth(self.credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(signed)
        r.headers.update(dict(signed.headers))
        return r


def sound(body: dict, n: int) -> bool:
    predictions = body.get("predictions", [])
    return len(predictions) == n and all(
        p["label"] in ("positive", "negative") and math.isfinite(p["score"]) for p in predictions
    )


class ApiUser(HttpUser):
    wait_time = between(0.1, 0.5)

    def on_start(self) -> None:
        if token := os.environ.get("LOAD_TEST_TOKEN"):
            self.client.headers["Authorization"] = f"Bearer {token}"
        if os.environ.get("LOAD_TEST_SIGV4") == "1":
            self.client.auth = SigV4(self.host)

    def _predict(self, payload: dict, n: int, name: str) -> None:
        with self.client.post("/predict", json=payload, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
            elif not sound(response.json(), n):
                response.failure("not one sound prediction per text")

    @task(6)
    def predict_one(self) -> None:
        self._predict({"text": random.choice(REVIEWS)}, SINGLE, "POST /predict (1 text)")

    @task(3)
    def predict_batch(self) -> None:
        self._predict({"texts": random.choices(REVIEWS, k=BATCH)}, BATCH, f"POST /predict ({BATCH} texts)")

    @task(1)
    def health(self) -> None:
        with self.client.get("/health", name="GET /health", catch_response=True) as response:
            if response.status_code != 200 or response.json().get("status") != "ok":
                response.failure(f"status {response.status_code}")

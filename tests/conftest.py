"""Settings every test shares: no AWS account, no X-Ray daemon, one metrics namespace.

Tiers: tests/unit runs in seconds (a fake model, see tests/fakes.py); tests/model needs the committed
ONNX model; tests/infra reads the templates; tests/integration starts the local run; `pytest` runs
them all.
"""

from __future__ import annotations

import os

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ImdbSentiment")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "imdb-sentiment")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

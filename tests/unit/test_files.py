"""Uploads without AWS credentials: the signed form's policy, uploads off without an authorizer, bad
input, a browser-style POST upload followed to done, and the page at / with its messages.

moto accepts a POST upload without enforcing its policy (size, key, type, expiry); AWS enforces it.
So the policy itself is decoded here and each condition checked.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import io
import json
import re
import shutil
import subprocess
import time
import uuid
from calendar import timegm
from html.parser import HTMLParser

import boto3
import pytest
import requests

from functions.fanout.files import output_keys as scoring_output_keys
from local_run.pollers import matches, object_created
from local_run.resources import rule_pattern
from sentiment_core import settings
from sentiment_core.adapters import uploads
from sentiment_core.file_schemas import NAME_PATTERN
from tests.helpers import REPO, api_request, context, load_event, s3_events

GOOD = "A wonderful film and I loved every minute."
BAD = "Dreadful and boring. Badly acted and far too long."
PAGE = REPO / "functions/api/page"


def with_settings(monkeypatch, **changes) -> None:
    configured = dataclasses.replace(settings.current(), **changes)
    monkeypatch.setattr(settings, "current", lambda: configured)


@pytest.fixture
def uploads_on(api, monkeypatch):
    with_settings(monkeypatch, api_authorizer="NONE", allow_anonymous_uploads=True)


@pytest.fixture
def s3(aws):
    s3_events(aws)  # forget notifications of earlier tests
    return boto3.client("s3")


def new_file(api, **body) -> dict:
    status, answer = api_request(api, "POST", "/files", body)
    assert status == 201, answer
    return answer


def policy(form: dict) -> dict:
    return json.loads(base64.b64decode(form["upload"]["fields"]["policy"]))


def conditions(form: dict) -> dict:
    """The policy's conditions by name: {"key": value} entries and ["content-length-range", 1, n]."""
    found = {}
    for condition in policy(form)["conditions"]:
        if isinstance(condition, dict):
            found.update(condition)
        else:
            found[condition[0]] = condition[1:]
    return found


def post_upload(form: dict, data: bytes) -> requests.Response:
    """What the page does: every field of the form, then the file."""
    fields = form["upload"]["fields"]
    return requests.post(
        form["upload"]["url"],
        data=fields,
        files={"file": (form["name"], data, fields["Content-Type"])},
        timeout=30,
    )


def score_uploads(batch, aws) -> list[dict]:
    return [batch.lambda_handler(event, context("batch")) for event in s3_events(aws)]


def reviews_csv(rows: int) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["movie", "text"])
    for i in range(rows):
        writer.writerow([f"movie {i % 3}", GOOD if i % 2 else BAD])
    return buffer.getvalue().encode()


# ---------------------------------------------------------------- uploads off without an authorizer


def test_without_an_authorizer_uploads_are_off_and_the_answer_says_why(api, monkeypatch):
    with_settings(monkeypatch, api_authorizer="NONE", allow_anonymous_uploads=False)
    status, answer = api_request(api, "POST", "/files", {"name": "reviews.csv"})
    assert status == 403
    assert "ApiAuthorizer=NONE" in answer["error"] and "AllowAnonymousUploads=true" in answer["error"]
    assert "money" in answer["error"]
    status, answer = api_request(api, "GET", f"/files/{uuid.uuid4()}")
    assert status == 403 and "uploads are off" in answer["error"]


def test_the_template_default_leaves_anonymous_uploads_off(api):
    assert settings.current().api_authorizer == "NONE"  # the template's defaults, as the tier deploys them
    assert settings.current().allow_anonymous_uploads is False
    status, _ = api_request(api, "POST", "/files", {"name": "reviews.csv"})
    assert status == 403


@pytest.mark.parametrize("authorizer", ["IAM", "JWT"])
def test_behind_an_authorizer_uploads_answer_without_the_anonymous_switch(api, monkeypatch, authorizer):
    with_settings(monkeypatch, api_authorizer=authorizer, allow_anonymous_uploads=False)
    assert new_file(api, name="reviews.csv")["file_id"]


def test_anonymous_uploads_answer_when_allowed(api, uploads_on):
    assert new_file(api, name="reviews.csv")["file_id"]


# ---------------------------------------------------------------- the signed policy


def test_the_signed_policy_pins_key_type_size_and_expiry(api, uploads_on):
    before = time.time()
    form = new_file(api, name="reviews.csv")
    file_id, fields = form["file_id"], form["upload"]["fields"]
    assert str(uuid.UUID(file_id)) == file_id
    found = conditions(form)
    # The key exactly: one prefix per upload, under incoming/, where the start rules route it.
    assert found["key"] == fields["key"] == f"incoming/{file_id}/reviews.csv"
    assert found["bucket"] == settings.current().data_bucket
    assert found["Content-Type"] == fields["Content-Type"] == form["content_type"] == "text/csv"
    assert found["content-length-range"] == [1, settings.current().upload_max_bytes] == [1, 100 * 1024 * 1024]
    assert form["max_bytes"] == 100 * 1024 * 1024
    # Expiry in minutes, and said in the answer.
    expires = timegm(time.strptime(policy(form)["expiration"], "%Y-%m-%dT%H:%M:%SZ"))
    assert before + 9 * 60 <= expires <= time.time() + 10 * 60 + 1
    assert abs(timegm(time.strptime(form["expires_at"], "%Y-%m-%dT%H:%M:%SZ")) - expires) <= 2
    # SigV4 on the regional endpoint: AWS refuses SigV2 forms in newer regions and for new buckets.
    assert found["x-amz-algorithm"] == fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert fields["x-amz-credential"].endswith("/us-east-1/s3/aws4_request") and fields["x-amz-signature"]
    assert "AWSAccessKeyId" not in fields and "signature" not in fields
    assert form["upload"]["url"] == f"https://{found['bucket']}.s3.us-east-1.amazonaws.com/"
    # Nothing else is allowed: every condition is one of these.
    assert set(found) == {"key", "bucket", "Content-Type", "content-length-range"} | {
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
    }


def test_a_gzip_file_and_a_group_column_are_pinned_too(api, uploads_on, monkeypatch):
    with_settings(monkeypatch, api_authorizer="IAM", upload_max_bytes=5_000)
    uploads_store = api.files.store()
    monkeypatch.setattr(uploads_store, "max_bytes", 5_000)
    form = new_file(api, name="Reviews 2024 (EU).CSV.GZ", group_column="movie")
    found = conditions(form)
    assert form["name"] == "Reviews 2024 (EU).csv.gz"  # the extension as the start rules match it
    assert found["key"] == f"incoming/{form['file_id']}/Reviews 2024 (EU).csv.gz"
    assert found["Content-Type"] == form["content_type"] == "application/gzip"
    assert found["x-amz-meta-group-column"] == form["upload"]["fields"]["x-amz-meta-group-column"] == "movie"
    assert found["content-length-range"] == [1, 5_000] and form["max_bytes"] == 5_000


@pytest.mark.parametrize(
    "body,field,problem",
    [
        ({"name": "reviews.txt"}, "body.name", ".csv or .csv.gz"),
        ({"name": "reviews.xlsx"}, "body.name", ".csv or .csv.gz"),
        ({"name": "../reviews.csv"}, "body.name", "letters, digits"),
        ({"name": "team/reviews.csv"}, "body.name", "letters, digits"),
        ({"name": ".hidden.csv"}, "body.name", "letters, digits"),
        ({"name": "critiques d'été.csv"}, "body.name", "letters, digits"),
        ({"name": "a+b.csv"}, "body.name", "letters, digits"),
        ({"name": "x" * 200 + ".csv"}, "body.name", "at most 120 characters"),
        ({"name": 5}, "body.name", "valid string"),
        ({}, "body.name", "Field required"),
        ({"name": "r.csv", "group_column": ""}, "body.group_column", "at least 1 character"),
        ({"name": "r.csv", "group_column": "année"}, "body.group_column", "printable ASCII"),
        ({"name": "r.csv", "group_column": " movie"}, "body.group_column", "start or end with a space"),
        ({"name": "r.csv", "key": "incoming/elsewhere.csv"}, "body.key", "Extra inputs"),
    ],
)
def test_bad_upload_requests_get_a_422_that_names_the_problem(api, uploads_on, body, field, problem):
    status, answer = api_request(api, "POST", "/files", body)
    assert status == 422, answer
    assert any(d["field"] == field and problem in d["problem"] for d in answer["details"]), answer


@pytest.mark.parametrize(
    "file_id",
    [
        str(uuid.uuid4()),  # well formed, never issued
        str(uuid.uuid4()).upper(),  # not as issued: no second spelling of a key
        "..%2F..%2Fscored",
        "not-an-id",
    ],
)
def test_an_unknown_file_is_a_404(api, uploads_on, file_id):
    status, answer = api_request(api, "GET", f"/files/{file_id}")
    assert status == 404 and answer["error"] == "no such file"


def test_the_keys_followed_are_the_ones_scoring_writes():
    name = "my reviews.v2.csv.gz"
    ours = uploads.output_keys("f1d", name)
    theirs = scoring_output_keys(uploads.incoming_key("f1d", name))
    assert {k: ours[k] for k in theirs} == theirs
    assert ours["report"] == "scored/f1d/my reviews.v2.report.html"


# ---------------------------------------------------------------- a file followed to its results


def test_a_browser_upload_is_routed_scored_and_followed_to_done(api, batch, aws, s3, uploads_on):
    form = new_file(api, name="reviews.csv", group_column="movie")
    file_id = form["file_id"]
    status, answer = api_request(api, "GET", f"/files/{file_id}")
    assert status == 200 and answer == {"file_id": file_id, "name": "reviews.csv", "state": "waiting"}

    assert post_upload(form, reviews_csv(30)).status_code == 204
    head = s3.head_object(Bucket=aws.bucket, Key=form["upload"]["fields"]["key"])
    assert head["ContentType"] == "text/csv" and head["Metadata"] == {"group-column": "movie"}

    (event,) = s3_events(aws)
    (record,) = event["Records"]
    assert record["eventName"] == "ObjectCreated:Post"
    routed = object_created(record)  # what EventBridge gets: the start rules route it by size
    assert routed["detail"]["reason"] == "PostObject" and matches(rule_pattern("BatchStartRule"), routed)
    result = batch.lambda_handler(event, context("batch"))
    assert result["results"] == [{"key": f"incoming/{file_id}/reviews.csv", "status": "scored"}]
    status, answer = api_request(api, "GET", f"/files/{file_id}")
    assert status == 200 and answer["state"] == "done", answer
    assert answer["summary"]["rows"] == answer["summary"]["scored"] == 30
    assert (
        answer["summary"]["positives"] == 15
        and answer["summary"]["output"] == f"scored/{file_id}/reviews.csv"
    )
    links = answer["links"]
    assert f"/scored/{file_id}/reviews.report.html?" in links["report"]  # written beside the scored CSV
    expires = timegm(time.strptime(links["expires_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert time.time() + 14 * 60 <= expires <= time.time() + 15 * 60 + 1
    assert "X-Amz-Expires=900" in links["csv"] and "X-Amz-Algorithm=AWS4-HMAC-SHA256" in links["csv"]
    download = requests.get(links["csv"], timeout=30)
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="reviews.scored.csv"'
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == 30 and {r["label"] for r in rows} == {"positive", "negative"}

    s3.delete_object(Bucket=aws.bucket, Key=f"scored/{file_id}/reviews.report.html")
    assert "report" not in api_request(api, "GET", f"/files/{file_id}")[1]["links"]  # no link to nothing
    s3.put_object(
        Bucket=aws.bucket, Key=f"scored/{file_id}/reviews.report.html", Body=b"<!doctype html><p>report</p>"
    )
    _, answer = api_request(api, "GET", f"/files/{file_id}")
    report = requests.get(answer["links"]["report"], timeout=30)
    assert report.status_code == 200 and report.text == "<!doctype html><p>report</p>"
    assert report.headers["content-type"].startswith("text/html")
    assert report.headers["content-disposition"] == "inline"


def test_a_file_that_cannot_be_scored_is_failed_with_the_reason(api, batch, aws, s3, uploads_on):
    form = new_file(api, name="workbook.csv")
    assert post_upload(form, b"PK\x03\x04 not a csv at all").status_code == 204
    score_uploads(batch, aws)
    status, answer = api_request(api, "GET", f"/files/{form['file_id']}")
    assert status == 200 and answer["state"] == "failed"
    assert "zip archive" in answer["error"] and "links" not in answer


def test_scoring_progress_and_a_rejection_over_a_limit_are_reported(api, aws, s3, uploads_on):
    form = new_file(api, name="big.csv")
    keys = uploads.output_keys(form["file_id"], "big.csv")
    status_doc = {
        "state": "scoring",
        "rows_total": 20_000,
        "rows_done": 6_000,
        "chunks_total": 10,
        "chunks_done": 3,
    }
    s3.put_object(Bucket=aws.bucket, Key=keys["status"], Body=json.dumps(status_doc).encode())
    _, answer = api_request(api, "GET", f"/files/{form['file_id']}")
    assert answer["state"] == "scoring"
    assert answer["progress"] == {
        "rows_done": 6_000,
        "rows_total": 20_000,
        "chunks_done": 3,
        "chunks_total": 10,
    }

    limit = {"name": "max_rows", "allowed": 10_000, "found": 20_000}
    error = {"error": "the file has more rows than this deployment scores", "limit": limit}
    s3.put_object(Bucket=aws.bucket, Key=keys["error"], Body=json.dumps(error).encode())
    _, answer = api_request(api, "GET", f"/files/{form['file_id']}")
    assert answer["state"] == "rejected" and answer["limit"] == limit and answer["error"] == error["error"]


# ---------------------------------------------------------------- the page at /


def get(api, path: str) -> dict:
    event = load_event("api_health.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = event["requestContext"]["routeKey"] = "$default"
    return api.lambda_handler(event, context("api"))


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_the_page_and_its_assets_are_served_under_a_strict_policy(api, aws):
    response = get(api, "/")
    assert response["statusCode"] == 200 and response["headers"]["Content-Type"].startswith("text/html")
    policy_header = response["headers"]["Content-Security-Policy"]
    origin = f"https://{aws.bucket}.s3.us-east-1.amazonaws.com"
    assert "script-src 'self';" in policy_header and "unsafe-inline" not in policy_header
    assert f"connect-src 'self' {origin};" in policy_header and f"frame-src {origin};" in policy_header
    assert "frame-ancestors 'none'" in policy_header and "form-action 'none'" in policy_header
    for name, kind in (("page.js", "text/javascript"), ("page.css", "text/css")):
        asset = get(api, f"/app/{name}")
        assert asset["statusCode"] == 200 and asset["headers"]["Content-Type"] == kind
    assert get(api, "/app/other.js")["statusCode"] == 404


def test_the_page_has_nothing_inline_and_a_label_for_every_control():
    html = (PAGE / "index.html").read_text()
    parser = _Elements()
    parser.feed(html)
    assert all(attrs.get("src") for tag, attrs in parser.tags if tag == "script")  # no inline script
    assert "<style" not in html and not any("style" in attrs for _, attrs in parser.tags)
    assert not any(name.startswith("on") for _, attrs in parser.tags for name in attrs)  # no inline handlers
    labelled = {attrs["for"] for tag, attrs in parser.tags if tag == "label"}
    controls = [
        attrs["id"] for tag, attrs in parser.tags if tag in ("input", "progress", "select", "textarea")
    ]
    assert controls and set(controls) <= labelled
    frame = next(attrs for tag, attrs in parser.tags if tag == "iframe")
    assert frame["sandbox"] == "" and frame["title"]  # the report runs nothing, and is named
    assert "focus-visible" in (PAGE / "page.css").read_text()  # a visible focus for keyboard users


NODE = shutil.which("node")


def page_function(call: str):
    """Call one of page.js's message functions with Node, as the browser would run it."""
    script = (
        f"const page = require({json.dumps(str(PAGE / 'page.js'))}); console.log(JSON.stringify({call}));"
    )
    return json.loads(subprocess.run([NODE, "-e", script], capture_output=True, text=True, check=True).stdout)


def s3_error(code: str, message: str) -> str:
    return f'<?xml version="1.0"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'


@pytest.mark.skipif(NODE is None, reason="node is not installed: the browser test covers the page's messages")
@pytest.mark.parametrize(
    "status,code,message,expected",
    [
        (400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", "at most 100 MB"),
        (400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size", "empty"),
        (403, "AccessDenied", "Invalid according to Policy: Policy expired.", "expired"),
        (403, "AccessDenied", "Invalid according to Policy: Policy Condition failed", "does not match"),
        (403, "SignatureDoesNotMatch", "The request signature we calculated does not match", "signature"),
        (503, "SlowDown", "Please reduce your request rate.", "busy"),
        (400, "InvalidArgument", "Bad thing", "(InvalidArgument: Bad thing)"),
    ],
)
def test_the_page_puts_s3_refusals_in_words(status, code, message, expected):
    words = page_function(
        f"page.s3Message({status}, {json.dumps(s3_error(code, message))}, {100 * 1024 * 1024})"
    )
    assert expected in words and "<" not in words


@pytest.mark.skipif(NODE is None, reason="node is not installed: the browser test covers the page's names")
def test_the_page_sends_names_the_api_accepts():
    names = ["Reviews.CSV", "critiques d'été.csv.GZ", "notes.txt", "-.csv"]
    sent = page_function(f"{json.dumps(names)}.map(page.safeName)")
    assert sent == ["Reviews.csv", "critiques d__t_.csv.gz", None, "reviews.csv"]
    assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._() -]*\.csv(\.gz)?", name) for name in sent if name)


@pytest.mark.parametrize(
    "name,accepted",
    [
        ("reviews.csv", True),
        ("Reviews 2024 (EU).CSV.GZ", True),
        ("a.csv.csv", True),
        (" reviews.csv", False),
        ("reviews.csv ", False),
        ("../reviews.csv", False),
        ("reviews.txt", False),
        ("é.csv", False),
    ],
)
def test_the_documented_name_pattern_is_what_the_api_accepts(api, uploads_on, name, accepted):
    assert bool(re.fullmatch(NAME_PATTERN.strip("^$"), name)) is accepted
    status, answer = api_request(api, "POST", "/files", {"name": name})
    assert status == (201 if accepted else 422), answer
    document = json.loads(get(api, "/openapi.json")["body"])
    schema = document["components"]["schemas"]["FileUploadRequest"]["properties"]["name"]
    assert schema["pattern"] == NAME_PATTERN and schema["maxLength"] == 120


def test_an_upload_that_asks_why_is_explained(api, batch, aws, s3, uploads_on):
    form = new_file(api, name="why.csv", explain=True)
    assert conditions(form)["x-amz-meta-explain"] == form["upload"]["fields"]["x-amz-meta-explain"] == "true"
    assert "x-amz-meta-explain" not in new_file(api, name="plain.csv")["upload"]["fields"]
    assert post_upload(form, reviews_csv(6)).status_code == 204
    head = s3.head_object(Bucket=aws.bucket, Key=form["upload"]["fields"]["key"])
    assert head["Metadata"] == {"explain": "true"}
    score_uploads(batch, aws)
    _, answer = api_request(api, "GET", f"/files/{form['file_id']}")
    assert answer["state"] == "done", answer
    rows = list(csv.DictReader(io.StringIO(requests.get(answer["links"]["csv"], timeout=30).text)))
    assert len(rows) == 6 and all("top_positive_sentence" in row for row in rows)
    status, answer = api_request(api, "POST", "/files", {"name": "r.csv", "explain": "yes"})
    assert status == 422 and answer["details"][0]["field"] == "body.explain"

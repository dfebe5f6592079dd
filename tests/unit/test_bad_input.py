"""The bad-input catalogue: every kind of hostile or broken request and file gets a documented 4xx
(or a clear error file) or a sound prediction; never a 5xx, never a hang, never a lost row.

Cases already asserted in test_api_handler.py (`text` and `texts` both or neither, non-string items,
65 texts, a 20,001-character text, whitespace only) and test_batch.py (binary file, missing text
column) are not repeated here.
"""

from __future__ import annotations

import base64
import csv
import gzip
import io
import json
import math
import time
import zipfile

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local_run.lambda_context import LocalLambdaContext
from tests.helpers import context, load_event, s3_events

API_TIMEOUT_S = 15  # template.yaml ApiTimeout default: past it Lambda would cut the request off
GOOD = "A wonderful film and I loved every minute."
BAD = "Dreadful and boring. Badly acted and far too long."


def request(
    api, body: str | bytes | None, content_type: str = "application/json", path: str = "/predict"
) -> tuple[int, dict]:
    """POST the body as API Gateway delivers it (bytes are base64-encoded, as for a binary body)."""
    event = load_event("api_predict_one.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["headers"]["content-type"] = content_type
    if isinstance(body, bytes):
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    else:
        event["body"], event["isBase64Encoded"] = body, False
    started = time.monotonic()
    response = api.lambda_handler(event, LocalLambdaContext(function_name="api"))
    assert time.monotonic() - started < API_TIMEOUT_S
    assert response["headers"]["Content-Type"] == "application/json"
    # Errors never echo a stack trace or where the code lives.
    assert not any(
        leak in response["body"] for leak in ("Traceback", 'File "', "/opt/", "site-packages", ".py")
    )
    return int(response["statusCode"]), json.loads(response["body"])


def assert_sound(body: dict, n: int) -> list[dict]:
    predictions = body["predictions"]
    assert len(predictions) == n
    for p in predictions:
        probabilities = p["probabilities"]
        assert p["label"] in ("positive", "negative")
        assert all(math.isfinite(v) and 0 <= v <= 1 for v in probabilities.values())
        assert sum(probabilities.values()) == pytest.approx(1, abs=1e-4)
        assert p["score"] == probabilities[p["label"]] == max(probabilities.values())
    return predictions


# ---------------------------------------------------------------- API: refused with the documented 4xx

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("path", ["/predict", "/jobs"])
@pytest.mark.parametrize(
    "body,content_type,status,error",
    [
        ('{"text": "unterminated', "application/json", 400, "request body is not valid JSON"),
        ("", "application/json", 422, "invalid request"),
        ("null", "application/json", 422, "invalid request"),
        ('["a list"]', "application/json", 422, "invalid request"),
        (DEEP, "application/json", 400, "request body is not valid JSON"),
        ('{"text": ' * 50_000, "application/json", 400, "request body is not valid JSON"),
        (b'{"text": "not utf-8 \xff\xfe\xc0"}', "application/json", 400, "request body is not valid JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "application/json", 400, "request body is not valid JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "image/png", 415, "send the body as application/json"),
        ('{"text": "fine"}', "text/plain", 415, "send the body as application/json"),
        ('{"text": "fine"}', "application/xml", 415, "send the body as application/json"),
        ("text=fine", "application/x-www-form-urlencoded", 415, "send the body as application/json"),
        ("--x\r\n\r\nfine\r\n--x--", "multipart/form-data; boundary=x", 415, "send the body as"),
    ],
    ids=[
        "invalid-json",
        "empty-body",
        "json-null",
        "json-list",
        "nested-100k-deep",
        "unclosed-50k-deep",
        "invalid-utf8",
        "binary-as-json",
        "binary",
        "text-plain",
        "xml",
        "form",
        "multipart",
    ],
)
def test_malformed_bodies_get_the_documented_4xx(api, path, body, content_type, status, error):
    got, answer = request(api, body, content_type, path)
    assert (got, answer["error"][: len(error)]) == (status, error)
    assert answer["request_id"]


def test_a_body_that_is_not_base64_is_invalid_json(api):
    event = load_event("api_predict_one.json")
    event["body"], event["isBase64Encoded"] = "%%% not base64 %%%", True
    response = api.lambda_handler(event, LocalLambdaContext(function_name="api"))
    assert response["statusCode"] == 400


@pytest.mark.parametrize(
    "payload,field,problem",
    [
        ({"text": "\x00\x01\x07\x1b"}, "body.text", "at least 1 visible character"),
        ({"text": "\u200b\u200c\u200d\ufeff\u2060"}, "body.text", "at least 1 visible character"),
        ({"text": "\u202e\u202c\u200f"}, "body.text", "at least 1 visible character"),
        ({"texts": ["fine", " \u00a0\u3000\t"]}, "body.texts.1", "at least 1 character"),
        ({"text": "great" * 200_000}, "body.text", "at most 20000 characters"),  # 1 MB, one token
        ({"texts": ["fine"] * 63 + [None]}, "body.texts.63", "valid string"),
        ({"text": ["nested", "list"]}, "body.text", "valid string"),
        ({"text": {"text": "nested"}}, "body.text", "valid string"),
        ({"text": True}, "body.text", "valid string"),
    ],
    ids=[
        "control-only",
        "zero-width-only",
        "bidi-marks-only",
        "unicode-spaces",
        "1mb",
        "null",
        "list",
        "obj",
        "bool",
    ],
)
def test_texts_with_nothing_to_read_or_wrong_types_are_422(api, payload, field, problem):
    status, body = request(api, json.dumps(payload))
    assert status == 422
    assert any(d["field"] == field and problem in d["problem"] for d in body["details"]), body


def test_a_lone_surrogate_is_422_and_a_surrogate_pair_is_an_emoji(api):
    status, body = request(api, '{"text": "broken \\ud800 half"}')
    assert status == 422 and body["details"][0]["field"] == "body.text"
    status, body = request(api, '{"text": "Loved it \\ud83d\\ude00"}')
    assert status == 200
    assert_sound(body, 1)


def test_a_megabyte_body_of_one_repeated_token_is_refused_quickly(api):
    started = time.monotonic()
    status, _ = request(api, json.dumps({"texts": ["great" * 4_001] * 50}))  # 1 MB, each text too long
    assert status == 422 and time.monotonic() - started < 2


# ---------------------------------------------------------------- API: odd but valid texts get a sound answer


@pytest.mark.parametrize(
    "text",
    [
        "A great\x00 film, NUL bytes and all.",
        "".join(chr(c) for c in range(1, 32)) + " loved it",
        "\u202eThis film was great\u202c \u05d4\u05e1\u05e8\u05d8 \u05de\u05e6\u05d5\u05d9\u05df",
        "Great\u200b film\u200d with zero\u2060width joins",
        "Loved it 😀🎬🍿👍🏽👨‍👩‍👧 " * 50,
        "<script>alert(document.cookie)</script><b>Great</b> movie<br /><img src=x onerror=alert(1)>",
        "'; DROP TABLE reviews; -- {{7*7}} ${jndi:ldap://x} %s%n",
        "電影很好看" * 4_000,  # 20,000 characters, one token each
        "!" * 20_000,
        "x" * 20_000,  # one 20,000-character word: the tokenizer's [UNK]
    ],
    ids=[
        "nul",
        "controls",
        "rtl",
        "zero-width",
        "emoji",
        "html-script",
        "injection",
        "cjk-20k",
        "punct-20k",
        "word-20k",
    ],
)
def test_odd_texts_get_a_sound_prediction_and_are_not_echoed(api, text):
    status, body = request(api, json.dumps({"text": text}))
    assert status == 200, body
    assert_sound(body, 1)
    assert "<script>" not in json.dumps(body) and "DROP TABLE" not in json.dumps(body)


def test_a_text_of_thousands_of_tokens_is_truncated_not_refused(api):
    status, body = request(api, json.dumps({"text": "bad " * 4_990 + "but in the end I loved it"}))
    assert status == 200
    (prediction,) = assert_sound(body, 1)
    assert prediction["truncated"] is True


def test_64_texts_of_20000_characters_are_answered_within_the_api_timeout(api):
    texts = [("great " if i % 2 else "awful ") * 3_333 for i in range(64)]  # 1.28 MB, 3,333 tokens each
    status, body = request(api, json.dumps({"texts": texts}))  # request() asserts the time bound
    assert status == 200
    predictions = assert_sound(body, 64)
    assert all(p["truncated"] for p in predictions)


# ---------------------------------------------------------------- API: fuzzed bodies never 5xx

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200),
    json_values.map(json.dumps),
    st.fixed_dictionaries({}, optional={"text": json_values, "texts": json_values}).map(json.dumps),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=bodies, content_type=st.sampled_from(["application/json", "text/plain", "", "application/json; x"])
)
def test_any_body_gets_a_4xx_or_a_sound_prediction(api, body, content_type):
    status, answer = request(api, body, content_type)
    assert status in (200, 400, 415, 422), answer
    if status == 200:
        assert_sound(answer, len(answer["predictions"]))
    else:
        assert answer["error"] and answer["request_id"]


# ---------------------------------------------------------------- batch files


@pytest.fixture
def s3(aws):
    s3_events(aws)  # forget notifications of earlier tests
    return boto3.client("s3")


def score_file(batch, aws, s3, name: str, data: bytes) -> str:
    s3.put_object(Bucket=aws.bucket, Key=f"incoming/{name}.csv", Body=data)
    (event,) = s3_events(aws)
    (result,) = batch.lambda_handler(event, context("batch"))["results"]
    return result["status"]


def outputs(s3, aws, name: str) -> set[str]:
    listed = s3.list_objects_v2(Bucket=aws.bucket, Prefix=f"scored/{name}.").get("Contents", [])
    return {o["Key"].removeprefix(f"scored/{name}.") for o in listed}


def rejected_because(batch, aws, s3, name: str, data: bytes) -> str:
    assert score_file(batch, aws, s3, name, data) == "rejected"
    assert outputs(s3, aws, name) == {"error.json", "status.json"}  # no scored CSV, no summary
    status = json.loads(s3.get_object(Bucket=aws.bucket, Key=f"scored/{name}.status.json")["Body"].read())
    error = json.loads(s3.get_object(Bucket=aws.bucket, Key=f"scored/{name}.error.json")["Body"].read())
    assert error["source"] == f"incoming/{name}.csv"
    assert not any(leak in error["error"] for leak in ("Traceback", "/tmp", "/opt/", ".py"))
    assert (status["state"], status["error"]) == ("failed", error["error"])
    return error["error"]


def scored_rows(s3, aws, name: str) -> tuple[list[dict], dict]:
    data = s3.get_object(Bucket=aws.bucket, Key=f"scored/{name}.csv")["Body"].read().decode("utf-8-sig")
    summary = json.loads(s3.get_object(Bucket=aws.bucket, Key=f"scored/{name}.summary.json")["Body"].read())
    return list(csv.DictReader(io.StringIO(data, newline=""))), summary


def test_gzip_named_csv_is_rejected_with_the_reason(batch, aws, s3):
    error = rejected_because(batch, aws, s3, "packed", gzip.compress(f"text\n{GOOD}\n".encode()))
    assert "gzip-compressed" in error and "uncompressed" in error


def test_zip_workbook_named_csv_is_rejected_with_the_reason(batch, aws, s3):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    assert "zip archive" in rejected_because(batch, aws, s3, "book", buffer.getvalue())


def test_zero_byte_file_is_rejected_with_the_reason(batch, aws, s3):
    assert "empty (0 bytes)" in rejected_because(batch, aws, s3, "zero", b"")


def test_header_that_is_not_utf8_is_rejected_with_the_reason(batch, aws, s3):
    error = rejected_because(batch, aws, s3, "latin1", "critique,text\nTrès bien,great\n".encode("utf-16"))
    assert "binary" in error or "not UTF-8" in error


def test_header_only_file_gives_an_empty_complete_result(batch, aws, s3):
    assert score_file(batch, aws, s3, "header-only", b"id,text\r\n") == "scored"
    rows, summary = scored_rows(s3, aws, "header-only")
    assert rows == [] and summary["rows"] == 0 and summary["scored"] == 0


def test_a_100kb_cell_is_scored_and_kept_whole(batch, aws, s3):
    long_text = (BAD + " ") * 2_000  # ~104 KB
    notes = "n" * 100_000  # a 100 KB cell in another column
    data = io.StringIO(newline="")
    csv.writer(data).writerows([["id", "notes", "text"], [1, notes, long_text], [2, "short", GOOD]])
    assert score_file(batch, aws, s3, "wide", data.getvalue().encode()) == "scored"
    rows, summary = scored_rows(s3, aws, "wide")
    assert [r["id"] for r in rows] == ["1", "2"]
    assert rows[0]["notes"] == notes and rows[0]["text"] == long_text
    assert [r["label"] for r in rows] == ["negative", "positive"]
    assert summary["scored"] == 2


def test_ragged_rows_each_get_an_error_and_keep_their_data(batch, aws, s3):
    data = f"id,text,stars\n1,{GOOD},5\n2,{BAD}\n3,{GOOD},4,extra,more\n\n4,{BAD},1\n".encode()
    assert score_file(batch, aws, s3, "ragged", data) == "scored"
    raw = s3.get_object(Bucket=aws.bucket, Key="scored/ragged.csv")["Body"].read().decode()
    table = list(csv.reader(io.StringIO(raw, newline="")))
    assert table[0] == ["id", "text", "stars", "label", "score", "error"]
    body = table[1:]
    assert [r[0] for r in body] == ["1", "2", "3", "", "4"]  # every row, in order, the blank one too
    assert body[0][3] == "positive" and body[4][3] == "negative"
    assert body[1][5] == "row has 2 fields, the header has 3: padded with 1 empty field" and body[1][1] == BAD
    assert body[2][5] == "row has 5 fields, the header has 3: the last 3 are joined into the last column"
    assert body[2][2] == "4,extra,more" and all(len(row) == 6 for row in body)  # rectangular, nothing lost
    assert body[3][5] == "empty row"
    _, summary = scored_rows(s3, aws, "ragged")
    assert (summary["rows"], summary["scored"], summary["rows_with_errors"]) == (5, 2, 3)


def test_rows_with_invisible_or_invalid_text_get_an_error_not_a_label(batch, aws, s3):
    data = b"id,text\n1,\xe2\x80\x8b\xe2\x80\x8b\n2,\x01\x02\n3,caf\xe9 was bad\n4," + GOOD.encode() + b"\n"
    assert score_file(batch, aws, s3, "invisible", data) == "scored"
    rows, _ = scored_rows(s3, aws, "invisible")
    assert [(r["label"], r["error"]) for r in rows] == [
        ("", "empty text"),
        ("", "empty text"),
        ("", "text is not valid UTF-8"),
        ("positive", ""),
    ]


def test_missing_requested_text_column_is_rejected_with_the_columns_found(batch, aws, s3):
    s3.put_object(
        Bucket=aws.bucket,
        Key="incoming/wrongcol.csv",
        Body=f"id,text\n1,{GOOD}\n".encode(),
        Metadata={"text-column": "comment"},
    )
    (event,) = s3_events(aws)
    batch.lambda_handler(event, context("batch"))
    error = json.loads(s3.get_object(Bucket=aws.bucket, Key="scored/wrongcol.error.json")["Body"].read())
    assert "'comment' is not in the header" in error["error"] and "'text'" in error["error"]

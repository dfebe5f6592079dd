"""Both paths score the same file to the same outputs: a subscriber cannot tell which one ran.

The same upload is scored by the fan-out's state machine and then by the batch function (the fast
path for small files). Scored CSV, summary.json, status.json, error.json and the event must be equal
byte for byte, timing fields (seconds, cost, timestamps) aside.
"""

from __future__ import annotations

import gzip
import importlib
import json
import sys

import pytest

from local_run.lambda_context import LocalLambdaContext
from local_run.pollers import object_created
from tests.integration import test_fanout_state_machine as fanout

BUCKET, CHUNK_ROWS = fanout.BUCKET, fanout.CHUNK_ROWS
TIMING = {"seconds", "cost_usd", "started_at", "updated_at"}
OUTPUTS = ("csv", "summary.json", "report.html", "status.json", "error.json")

stack = fanout.stack  # the fan-out on moto's Step Functions, its events on a queue


@pytest.fixture(scope="module")
def batch(stack):
    sys.modules.pop("functions.batch.app", None)  # served by this stack's settings and model
    return importlib.import_module("functions.batch.app")


def outputs(stack, key: str) -> dict[str, bytes | None]:
    stem = key.removeprefix("incoming/").removesuffix(".gz").removesuffix(".csv")
    return {name: fanout.get(stack, f"scored/{stem}.{name}") for name in OUTPUTS}


def clear(stack, key: str) -> None:
    stem = key.removeprefix("incoming/").removesuffix(".gz").removesuffix(".csv")
    stack["s3"].delete_objects(
        Bucket=BUCKET, Delete={"Objects": [{"Key": f"scored/{stem}.{name}"} for name in OUTPUTS]}
    )
    fanout.events(stack)


def without_timing(document: bytes | None) -> str | None:
    """The JSON text with every timing field's value blanked; key order and all else kept."""
    if document is None:
        return None
    parsed = json.loads(document)
    for fields in (parsed, parsed.get("figures") or {}):  # the report's figures repeat the timing
        for name in TIMING & fields.keys():
            assert fields[name] is None or isinstance(fields[name], int | float | str), name
            fields[name] = "<timing>"
    return json.dumps(parsed, indent=2)


def the_event(stack, key: str) -> dict:
    (event,) = [e for e in fanout.events(stack) if e["detail"]["key"] == key]
    return {"detail-type": event["detail-type"], "source": event["source"], "detail": event["detail"]}


def both_paths(stack, batch, key: str, data: bytes, **put) -> tuple[dict, dict]:
    """(outputs, event) of the fan-out, then of the batch function, for one upload of `data`."""
    stack["s3"].put_object(Bucket=BUCKET, Key=key, Body=data, **put)
    seen = []
    for run in (
        lambda: fanout.run(stack, key),
        lambda: batch.lambda_handler(
            object_created({"s3": {"bucket": {"name": BUCKET}, "object": {"key": key, "size": len(data)}}}),
            LocalLambdaContext(function_name="batch", timeout_s=900),
        ),
    ):
        clear(stack, key)
        run()
        seen.append((outputs(stack, key), the_event(stack, key)))
    return seen[0], seen[1]


def assert_same(fanned: tuple[dict, dict], single: tuple[dict, dict]) -> None:
    (fan_outputs, fan_event), (batch_outputs, batch_event) = fanned, single
    assert batch_outputs["csv"] == fan_outputs["csv"]
    assert (batch_outputs["report.html"] is None) == (fan_outputs["report.html"] is None)
    for name in ("summary.json", "status.json", "error.json"):
        assert without_timing(batch_outputs[name]) == without_timing(fan_outputs[name]), name
    assert batch_event == fan_event


def test_a_scored_file_gives_the_same_outputs_and_event_on_both_paths(stack, batch):
    data = fanout.reviews(CHUNK_ROWS - 1, bom=True)  # one chunk, so status.json counts alike
    fanned, single = both_paths(stack, batch, "incoming/same/reviews.csv", data)
    assert fanned[0]["csv"].startswith(b"\xef\xbb\xbf") and fanned[0]["error.json"] is None
    assert json.loads(fanned[0]["status.json"])["state"] == "done"
    assert fanned[1]["detail-type"] == "Batch file scored"
    assert_same(fanned, single)
    summary = json.loads(single[0]["summary.json"])
    assert summary["seconds"] > 0 and summary["cost_usd"] >= 0
    assert (
        summary["figures"]["rows"] == CHUNK_ROWS - 1
        and summary["report"] == "scored/same/reviews.report.html"
    )
    assert b"<title>Sentiment report: reviews.csv</title>" in single[0]["report.html"]


def test_a_gzipped_file_and_a_named_text_column_give_the_same_outputs(stack, batch):
    data = b"id;body;text\r\n1;A wonderful film.;x\r\n2;Dreadful and dull.;y\r\n3;;z\r\n"
    fanned, single = both_paths(
        stack, batch, "incoming/same/named.csv.gz", gzip.compress(data), Metadata={"text-column": "body"}
    )
    assert fanned[1]["detail"]["rows_with_errors"] == 1
    assert_same(fanned, single)


def test_a_file_that_cannot_be_scored_fails_the_same_way_on_both_paths(stack, batch):
    fanned, single = both_paths(stack, batch, "incoming/same/nocolumn.csv", b"name,stars\nx,1\n")
    assert fanned[0]["csv"] is None and fanned[0]["summary.json"] is None and fanned[0]["report.html"] is None
    assert "no text column" in json.loads(fanned[0]["error.json"])["error"]
    assert fanned[1]["detail-type"] == "Batch file failed"
    assert_same(fanned, single)


def test_an_explained_file_gives_the_same_rows_and_report_on_both_paths(stack, batch):
    data = (
        b"id,text\r\n1,I saw it on a Tuesday. It is a wonderful <b>moving</b> film. The seats were blue.\r\n"
        b"2,My brother chose it. The acting is dreadful and the plot is dull. The poster was nice.\r\n"
        b"3,\r\n"
    )
    fanned, single = both_paths(stack, batch, "incoming/same/why.csv", data, Metadata={"explain": "true"})
    assert fanned[0]["csv"] == single[0]["csv"]
    summaries = [json.loads(without_timing(s[0]["summary.json"])) for s in (fanned, single)]
    assert summaries[0]["figures"] == summaries[1]["figures"]
    figures = summaries[1]["figures"]
    positive, negative = figures["most_positive"][0], figures["most_negative"][0]
    assert (
        positive["row"] == 1 and positive["key_sentence"]["text"] == "It is a wonderful <b>moving</b> film."
    )
    assert negative["row"] == 2 and negative["key_sentence"]["contribution"] < 0
    assert negative["key_sentence"]["text"] == "The acting is dreadful and the plot is dull."
    for outputs_, _ in (fanned, single):
        page = outputs_["report.html"].decode()
        assert "It is a wonderful &lt;b&gt;moving&lt;/b&gt; film." in page and "<b>moving" not in page
        assert "The acting is dreadful and the plot is dull." in page and page.count("<p class=key>") == 4

"""Each function's EMF output, parsed: metric names, units, dimensions and values."""

from __future__ import annotations

import boto3

from tests.helpers import (
    api_request,
    context,
    emf_lines,
    known_reviews,
    load_event,
    receive,
    run_worker,
    s3_events,
    submit,
)


def metrics_of(blobs: list[dict]) -> dict[str, tuple[str, list[str], list[float]]]:
    """name -> (unit, dimension names, values) across the EMF blobs, skipping the cold-start blob."""
    out = {}
    for blob in blobs:
        (directive,) = blob["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "ImdbSentiment"
        (dimensions,) = directive["Dimensions"]
        for metric in directive["Metrics"]:
            values = blob[metric["Name"]]
            out[metric["Name"]] = (
                metric["Unit"],
                sorted(dimensions),
                values if isinstance(values, list) else [values],
            )
    return out


def assert_dimensions(blobs: list[dict], service: str, model_version: str) -> None:
    for blob in blobs:
        if "ColdStart" in blob:
            assert blob["function_name"] and blob["service"] == service
        else:
            assert blob["service"] == service and blob["model_version"] == model_version


def test_predict_emits_latency_volume_confidence_and_drift(api, capsys):
    texts, _ = known_reviews()  # two positive, two negative
    capsys.readouterr()
    status, _ = api_request(api, "POST", "/predict", {"texts": texts})
    assert status == 200
    blobs = emf_lines(capsys.readouterr().out)
    assert_dimensions(blobs, "api", api.model.version)
    metrics = metrics_of(blobs)
    dims = ["model_version", "service"]
    assert metrics["PredictionsPositive"] == ("Count", dims, [2.0])
    assert metrics["PredictionsNegative"] == ("Count", dims, [2.0])
    assert metrics["PositiveShare"] == ("Percent", dims, [50.0])
    assert metrics["TruncatedInputs"] == ("Count", dims, [0.0])
    unit, _, (latency,) = metrics["InferenceLatency"]
    assert unit == "Milliseconds" and 0 < latency < 10_000
    unit, _, (tokens,) = metrics["TokensProcessed"]
    assert unit == "Count" and tokens == sum(p.tokens for p in api.model.predict(texts))
    unit, _, (confidence,) = metrics["MeanConfidence"]
    assert unit == "Percent" and 50 <= confidence <= 100
    assert metrics["LowConfidencePredictions"][0] == "Count"


def test_validation_failure_is_counted(api, capsys):
    capsys.readouterr()
    api.lambda_handler(load_event("api_predict_bad_request.json"), context("api"))
    metrics = metrics_of(emf_lines(capsys.readouterr().out))
    assert metrics["ValidationFailures"] == ("Count", ["model_version", "service"], [1.0])
    assert "InferenceLatency" not in metrics


def test_job_emits_completion_and_queue_to_done_latency(api, worker, aws, capsys):

    submit(api, ["Loved it.", "Hated it."])
    messages = receive(aws.jobs_queue_url)
    capsys.readouterr()
    run_worker(worker, aws.jobs_queue_url, messages)
    blobs = emf_lines(capsys.readouterr().out)
    assert_dimensions(blobs, "worker", worker.model.version)
    metrics = metrics_of(blobs)
    assert metrics["JobsCompleted"] == ("Count", ["model_version", "service"], [1.0])
    unit, _, (latency,) = metrics["QueueToDoneLatency"]
    assert unit == "Milliseconds" and 0 <= latency < 60_000
    assert metrics["PredictionsPositive"][2] == [1.0] and metrics["PredictionsNegative"][2] == [1.0]


def test_batch_file_emits_rows_errors_and_seconds(batch, aws, capsys):
    s3_events(aws)
    data = b"id,text\n1,Loved it\n2,\n3,Hated it\n4,Loved it again\n"
    boto3.client("s3").put_object(Bucket=aws.bucket, Key="incoming/metrics.csv", Body=data)
    (event,) = s3_events(aws)
    capsys.readouterr()
    batch.lambda_handler(event, context("batch"))
    blobs = emf_lines(capsys.readouterr().out)
    assert_dimensions(blobs, "batch", batch.model.version)
    metrics = metrics_of(blobs)
    dims = ["model_version", "service"]
    assert metrics["BatchRowsScored"] == ("Count", dims, [3.0])
    assert metrics["BatchRowsWithErrors"] == ("Count", dims, [1.0])
    assert metrics["BatchRowErrorRate"] == ("Percent", dims, [25.0])
    unit, _, (seconds,) = metrics["BatchFileSeconds"]
    assert unit == "Seconds" and 0 <= seconds < 60  # the fake model can finish within the rounding
    # The batch path reports the inference signals the API and the worker report.
    assert metrics["PredictionsPositive"] == ("Count", dims, [2.0])
    assert metrics["PredictionsNegative"] == ("Count", dims, [1.0])
    assert metrics["TokensProcessed"][2] == [7.0] and metrics["InferenceLatency"][0] == "Milliseconds"
    assert metrics["PositiveShare"] == ("Percent", dims, [100 * 2 / 3])

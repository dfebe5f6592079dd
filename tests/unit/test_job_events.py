"""A finished job, done or failed, publishes one event on the stack's bus."""

from __future__ import annotations

import json

from tests.helpers import drain, receive, run_worker


def _events(aws) -> list[dict]:
    found = []
    while messages := receive(aws.file_events_queue_url):
        found += [json.loads(m["Body"]) for m in messages]
        drain(aws.file_events_queue_url)
    return found


def test_done_and_failed_jobs_each_publish_one_event(worker, aws, monkeypatch):
    drain(aws.jobs_queue_url)
    _events(aws)
    done = worker.store.submit(["Loved it.", "Hated it."])
    run_worker(worker, aws.jobs_queue_url, receive(aws.jobs_queue_url))
    (event,) = _events(aws)
    assert event["detail-type"] == "Job done" and event["source"] == "imdb-sentiment"
    assert event["detail"]["job_id"] == done and event["detail"]["texts"] == 2

    failing = worker.store.submit(["breaks"])
    monkeypatch.setattr(worker.model, "predict", lambda texts: (_ for _ in ()).throw(RuntimeError("boom")))
    for _ in range(3):  # the queue's maxReceiveCount: the last attempt marks the job failed
        run_worker(worker, aws.jobs_queue_url, receive(aws.jobs_queue_url))
    (event,) = _events(aws)
    assert event["detail-type"] == "Job failed" and event["detail"]["job_id"] == failing
    assert "after 3 attempts" in event["detail"]["error"]

"""Cold start: a fresh process from start to first prediction, split into its parts; the same for a
torch + transformers process serving the same model, for the ratio; and each handler from process
start to its first answered event, against a bare process that imports onnxruntime and tokenizers,
loads the same model and predicts once (runs interleaved, so both meet the same machine load).
The handlers run from compiled bytecode, as in the image (its Dockerfile runs compileall).

    python -m benchmarks.cold_start [--runs 5]
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

from benchmarks.common import REPO, local_aws, run_json

SERVICE_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy, onnxruntime, tokenizers
t1 = time.perf_counter()
import aws_lambda_powertools.event_handler, pydantic
t2 = time.perf_counter()
from sentiment_core.model import get_model
model = get_model()
t3 = time.perf_counter()
model.predict(["The movie was amazing!"])
t4 = time.perf_counter()
print(json.dumps({"imports_ms": (t1 - t0) * 1000, "powertools_ms": (t2 - t1) * 1000,
                  "model_load_ms": (t3 - t2) * 1000, "first_prediction_ms": (t4 - t3) * 1000,
                  **{f"load_{k}": v for k, v in vars(model.load_timings).items()},
                  "to_first_prediction_ms": (t4 - t0) * 1000,
                  "torch_imported": "torch" in sys.modules}))
"""

TORCH_PROBE = r"""
import json, time
t0 = time.perf_counter()
import torch, transformers
t1 = time.perf_counter()
from benchmarks.reference_models import pytorch_model
from model_export.modeling import load_base_tokenizer
from sentiment_core.preprocess import encode_batch, pad_batch
torch.set_num_threads(1)
model, _ = pytorch_model()
tokenizer = load_base_tokenizer()
t2 = time.perf_counter()
ids, mask = pad_batch(encode_batch(tokenizer, ["The movie was amazing!"]))
with torch.inference_mode():
    model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
t3 = time.perf_counter()
print(json.dumps({"imports_ms": (t1 - t0) * 1000, "model_load_ms": (t2 - t1) * 1000,
                  "first_prediction_ms": (t3 - t2) * 1000, "to_first_prediction_ms": (t3 - t0) * 1000}))
"""


# The floor: what any process serving this model must do, and nothing else.
BARE_PROBE = r"""
import json, sys, time
import numpy as np, onnxruntime as ort
from tokenizers import Tokenizer
model_dir = sys.argv[1]
tokenizer = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
options = ort.SessionOptions()
options.intra_op_num_threads = 1
session = ort.InferenceSession(f"{model_dir}/model.onnx", options, providers=["CPUExecutionProvider"])
ids = np.array([tokenizer.encode("The movie was amazing!").ids], dtype=np.int64)
session.run(["logits"], {"input_ids": ids, "attention_mask": np.ones_like(ids)})
print(json.dumps({"answered_at": time.time(), "cpu_s": time.process_time()}))
"""

# A handler as Lambda starts it: import the module (its init), then one event.
HANDLER_PROBE = r"""
import importlib, json, sys, time
class Context:
    function_name = sys.argv[1]
    memory_limit_in_mb = 1769
    invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{sys.argv[1]}"
    aws_request_id = "cold-start"
    def get_remaining_time_in_millis(self):
        return 900_000
module = importlib.import_module(f"functions.{sys.argv[1]}.app")
initialized_at = time.time()
result = module.lambda_handler(json.loads(sys.argv[2]), Context())
answered_at, cpu_s = time.time(), time.process_time()
answer = {"answered_at": answered_at, "initialized_at": initialized_at, "cpu_s": cpu_s, "result": result}
print(json.dumps(answer, default=str))
"""

# What the handlers import and nothing else: no model loaded, no AWS client made, no event.
LIBRARIES_PROBE = r"""
import json, time
import numpy, onnxruntime, tokenizers
import boto3
import aws_lambda_powertools.event_handler, aws_lambda_powertools.metrics
import aws_lambda_powertools.utilities.batch, aws_lambda_powertools.utilities.idempotency
print(json.dumps({"answered_at": time.time(), "cpu_s": time.process_time()}))
"""

# The AWS work of the worker's first event and nothing else: boto3, its three clients, and the six
# requests a job takes (idempotency record, texts, result, job status, idempotency update, event).
WORKER_AWS_PROBE = r"""
import json, os, sys, time
import boto3
dynamodb, s3, events = boto3.client("dynamodb"), boto3.client("s3"), boto3.client("events")
job, bucket, table = sys.argv[1], os.environ["DATA_BUCKET"], os.environ["IDEMPOTENCY_TABLE"]
key = {"id": {"S": f"aws-only#{job}"}}
dynamodb.put_item(TableName=table, Item={**key, "status": {"S": "INPROGRESS"}},
                  ConditionExpression="attribute_not_exists(id)")
texts = json.loads(s3.get_object(Bucket=bucket, Key=f"jobs/{job}/request.json")["Body"].read())["texts"]
s3.put_object(Bucket=bucket, Key=f"jobs/{job}/aws-only.json", Body=json.dumps({"texts": len(texts)}).encode())
dynamodb.update_item(TableName=os.environ["JOBS_TABLE"], Key={"job_id": {"S": job}},
                     UpdateExpression="SET probe = :p", ExpressionAttributeValues={":p": {"S": "aws-only"}})
done = {":s": {"S": "COMPLETED"}}
dynamodb.update_item(TableName=table, Key=key, UpdateExpression="SET #s = :s",
                     ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues=done)
events.put_events(Entries=[{"Source": "cold-start-probe", "DetailType": "Job done", "Detail": "{}",
                            "EventBusName": os.environ["EVENT_BUS_NAME"]}])
print(json.dumps({"answered_at": time.time(), "cpu_s": time.process_time()}))
"""


def _seconds_to_answer(args: list[str], env: dict[str, str]) -> tuple[float, dict]:
    """Wall seconds from spawning `python args` to the answer it prints (its last stdout line), and
    that answer, with the CPU seconds the process had used by then (`cpu_s`: less sensitive to a
    machine shared with other work than the wall time)."""
    started = time.time()
    out = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=300, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"cold start probe failed:\n{out.stderr[-3000:]}")
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    return answer["answered_at"] - started, answer


@contextlib.contextmanager
def first_events() -> Iterator[tuple[dict[str, str], dict[str, Callable[[], dict]]]]:
    """The local AWS stack (benchmarks.common.local_aws): the environment the handlers get, and for
    each handler a maker of a fresh first event (a new job, a new CSV: nothing answered from a cache)."""
    with local_aws() as (env, resources):
        import boto3

        from local_run.pollers import sqs_event
        from sentiment_core.adapters.jobs import JobStore

        store = JobStore(resources.jobs_table, resources.bucket, resources.jobs_queue_url)
        sqs, s3 = boto3.client("sqs"), boto3.client("s3")
        api_event = json.loads((REPO / "events" / "api_predict_one.json").read_text())
        s3_template = (REPO / "events" / "batch_s3_put.json").read_text()

        def worker_event() -> dict:
            """The new job's message, deleted from the queue as Lambda's poller does once a batch
            succeeds: left there, it would come back after its visibility timeout as a later round's
            "first event", a job already done that the worker answers from its idempotency record."""
            job_id = store.submit(["The movie was amazing!"])
            queue = resources.jobs_queue_url
            while True:
                message = sqs.receive_message(QueueUrl=queue, AttributeNames=["All"], WaitTimeSeconds=1)[
                    "Messages"
                ][0]
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
                if json.loads(message["Body"])["job_id"] == job_id:
                    return sqs_event([message], "arn:aws:sqs:us-east-1:123456789012:jobs", "us-east-1")

        def batch_event() -> dict:
            key = f"incoming/cold-{time.time_ns()}.csv"
            s3.put_object(Bucket=resources.bucket, Key=key, Body=b"id,text\n1,The movie was amazing!\n")
            event = json.loads(s3_template)
            event["Records"][0]["s3"]["bucket"]["name"] = resources.bucket
            event["Records"][0]["s3"]["object"]["key"] = key
            return event

        yield env, {"api": lambda: api_event, "worker": worker_event, "batch": batch_event}


# The code the image compiles at build (Dockerfile: compileall), so that no cold start compiles it.
IMAGE_COMPILED = (REPO / "functions", REPO / "layers" / "sentiment_core" / "python")


def compile_as_the_image_does() -> None:
    """Bytecode for the handlers' own code, as the image ships it: where PYTHONDONTWRITEBYTECODE
    is set (as here), every probe would otherwise compile it afresh, a cost no deployment pays."""
    for path in IMAGE_COMPILED:
        if not compileall.compile_dir(path, quiet=1):
            raise RuntimeError(f"{path} does not compile")


def handlers_vs_bare(runs: int) -> dict:
    """Median seconds from process start to first answer, per handler and for the bare process, and
    each handler's ratio to the bare process, split into init (the module import) and first event;
    and two floors no handler code can remove: the libraries imported and nothing else, and the
    worker's AWS work alone. The runs interleave, so each round meets the same load."""
    from sentiment_core.settings import Settings

    base = {
        **os.environ,
        "INFERENCE_THREADS": "1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "ImdbSentiment",
    }
    model_dir = str(Settings.from_env(base).model_dir)
    compile_as_the_image_does()
    seconds: dict[str, list[float]] = {
        name: [] for name in ("bare", "libraries", "worker_aws", "api", "worker", "batch")
    }
    cpu: dict[str, list[float]] = {name: [] for name in seconds}
    event_seconds: dict[str, list[float]] = {"api": [], "worker": [], "batch": []}
    with first_events() as (aws_env, first_event):
        env = {**base, **aws_env}
        for _ in range(runs):
            job_id = json.loads(first_event["worker"]()["Records"][0]["body"])["job_id"]
            floors = {"bare": [BARE_PROBE, model_dir], "libraries": [LIBRARIES_PROBE]}
            for name, args in {**floors, "worker_aws": [WORKER_AWS_PROBE, job_id]}.items():
                took, answer = _seconds_to_answer(["-c", *args], env)
                seconds[name].append(took)
                cpu[name].append(answer["cpu_s"])
            for name, make_event in first_event.items():
                took, answer = _seconds_to_answer(["-c", HANDLER_PROBE, name, json.dumps(make_event())], env)
                result = answer["result"]
                if result.get("statusCode", 200) != 200 or result.get("batchItemFailures"):
                    raise RuntimeError(f"{name} did not answer its first event: {result}")
                seconds[name].append(took)
                cpu[name].append(answer["cpu_s"])
                event_seconds[name].append(answer["answered_at"] - answer["initialized_at"])
    wall = {name: round(statistics.median(values) * 1000, 1) for name, values in seconds.items()}
    cpu_ms = {name: round(statistics.median(values) * 1000, 1) for name, values in cpu.items()}
    return {
        "bare_ms": wall["bare"],
        "bare_cpu_ms": cpu_ms["bare"],
        **{
            name: {"ms": wall[name], "vs_bare": round(wall[name] / wall["bare"], 2), "cpu_ms": cpu_ms[name]}
            for name in ("libraries", "worker_aws")
        },
        "handlers": {
            name: {
                "ms": wall[name],
                "vs_bare": round(wall[name] / wall["bare"], 2),
                "first_event_ms": round(statistics.median(event_seconds[name]) * 1000, 1),
                "cpu_ms": cpu_ms[name],
                "cpu_vs_bare": round(cpu_ms[name] / cpu_ms["bare"], 2),
            }
            for name in event_seconds
        },
        "runs": runs,
    }


def median_run(probe: str, runs: int) -> dict:
    """Each part's median over `runs` fresh interpreters (1 inference thread, as at 1,769 MB)."""
    results = [run_json(["-c", probe], env={"INFERENCE_THREADS": "1"}) for _ in range(runs)]
    return {
        key: round(statistics.median(r[key] for r in results), 1)
        if isinstance(results[0][key], float)
        else results[0][key]
        for key in results[0]
    } | {"runs": runs}


def cold_start(runs: int, with_torch: bool = True) -> dict:
    service = median_run(SERVICE_PROBE, runs)
    report = {
        "service": service,
        "handlers_vs_bare": handlers_vs_bare(runs),
        "python": sys.version.split()[0],
    }
    if not with_torch:
        return report
    torch = median_run(TORCH_PROBE, max(3, runs // 2))
    return report | {
        "torch_transformers": torch,
        "torch_over_service": round(torch["to_first_prediction_ms"] / service["to_first_prediction_ms"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--handlers-only", action="store_true", help="skip the torch comparison")
    args = parser.parse_args()
    report = cold_start(args.runs, with_torch=not args.handlers_only)
    bare = report["handlers_vs_bare"]
    for name, figures in bare["handlers"].items():
        print(
            f"{name}: {figures['ms']} ms to the first answered event ({figures['first_event_ms']} ms of it "
            f"the event), {figures['vs_bare']}x the bare process ({bare['bare_ms']} ms); CPU "
            f"{figures['cpu_ms']} ms, {figures['cpu_vs_bare']}x ({bare['bare_cpu_ms']} ms)",
            file=sys.stderr,
        )
    for name in ("libraries", "worker_aws"):
        print(
            f"{name} alone: {bare[name]['ms']} ms, {bare[name]['vs_bare']}x the bare process", file=sys.stderr
        )
    print(json.dumps(report))


if __name__ == "__main__":
    main()

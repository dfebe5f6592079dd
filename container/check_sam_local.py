"""The container tier's `sam local` check: each function's events/ file with `sam local invoke`, and a
`sam local start-api` answering curl, against the image for this machine's CPU.

    python -m container.check_sam_local        (make test-container)

The worker and batch events need S3, SQS and DynamoDB: a moto server stands in for them, seeded
with the objects and the table item the events name, and reached through AWS_ENDPOINT_URL, which
a copy of the template declares (SAM passes a function only the variables its template declares).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import unquote_plus

import boto3
from moto.server import ThreadedMotoServer

from container.check_images import check_explained
from container.podman_service import CONTAINERS_CONF, docker_api, stop
from container.sam_local import (
    EVENTS,
    REGION,
    REPO,
    SAM,
    WORK,
    env_vars_file,
    free_port,
    host_architecture,
    local_image,
    sam_env,
    sam_options,
)
from local_run.resources import create_resources
from sentiment_core.adapters.jobs import JobStore

GOOD = "A wonderful film and I loved every minute."
COPY_PREFIX = f".sam-local-template-{os.getpid()}"  # .gitignore: .sam-local-template-*.yaml


def local_aws(port: int):
    """A moto server with the template's resources, and the objects the worker and batch events name."""

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
    # Every address: SAM's containers come from podman's bridge, whose interface exists only while
    # a container runs on it. For the length of the check; any credentials open it.
    server = ThreadedMotoServer(ip_address="0.0.0.0", port=port, verbose=False)  # noqa: S104
    server.start()
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        AWS_DEFAULT_REGION=REGION,
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 - moto takes any
    )
    resources = create_resources()
    s3, dynamodb = boto3.client("s3"), boto3.client("dynamodb")
    record = json.loads((EVENTS / "batch_s3_put.json").read_text())["Records"][0]["s3"]
    s3.put_object(
        Bucket=resources.bucket,
        Key=unquote_plus(record["object"]["key"]),
        Body=f"id,text\n1,{GOOD}\n2,Dreadful and boring.\n".encode(),
    )
    job = json.loads(json.loads((EVENTS / "worker_job.json").read_text())["Records"][0]["body"])["job_id"]
    s3.put_object(Bucket=resources.bucket, Key=JobStore.request_key(job), Body=json.dumps({"texts": [GOOD]}))
    dynamodb.put_item(
        TableName=resources.jobs_table,
        Item={
            "job_id": {"S": job},
            "status": {"S": "queued"},
            "texts": {"N": "1"},
            "created_at": {"N": "0"},
        },
    )
    return server, resources, job


def bridge_gateway() -> str:
    """This machine as SAM's containers see it. An address, not podman's host.containers.internal:
    moto would read that host name as an S3 virtual-host bucket ("host")."""
    out = podman_output("network", "inspect", "podman", "--format", "{{range .Subnets}}{{.Gateway}}{{end}}")
    return out.strip() or "10.88.0.1"


def podman_output(*args: str) -> str:
    env = {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=True, env=env).stdout


def template_with_endpoint(endpoint: str) -> Path:
    """template.yaml plus the two variables a local run needs, in Globals (every function gets them),
    and the same for each nested template with functions, whose copies the root's copy points to."""
    extra = f'        AWS_ENDPOINT_URL: "{endpoint}"\n        POWERTOOLS_TRACE_DISABLED: "true"\n'
    root = (REPO / "template.yaml").read_text()
    for nested in sorted((REPO / "templates").glob("*.yaml")):
        text = nested.read_text()
        if "Globals:\n  Function:\n" in text:
            copy = _with_variables(text, extra, nested.parent / f"{COPY_PREFIX}-{nested.name}")
            root = root.replace(f"Location: templates/{nested.name}", f"Location: templates/{copy.name}")
    return _with_variables(root, extra, REPO / f"{COPY_PREFIX}.yaml")  # beside template.yaml


def _with_variables(text: str, extra: str, copy: Path) -> Path:
    globals_at = text.index("Globals:\n  Function:\n")
    variables_at = text.index("      Variables:\n", globals_at) + len("      Variables:\n")
    copy.write_text(text[:variables_at] + extra + text[variables_at:])  # beside its original: paths hold
    return copy


def remove_copies() -> None:
    for copy in [*REPO.glob(f"{COPY_PREFIX}*.yaml"), *(REPO / "templates").glob(f"{COPY_PREFIX}*.yaml")]:
        copy.unlink(missing_ok=True)


def invoke_json(docker_host: str, template: Path, env_file: Path, function: str, event: str) -> dict:
    command = [str(SAM), "local", "invoke", f"{function}Function", "--event", str(EVENTS / event)]
    command += [*sam_options(template), "--env-vars", str(env_file)]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=sam_env(docker_host), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    print(f"\n$ sam local invoke {function}Function -e events/{event}  ({seconds:.1f} s)", flush=True)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    print(lines[-1] if lines else result.stderr[-3000:], flush=True)
    if result.returncode != 0 or not lines:
        raise SystemExit(f"sam local invoke {function} failed:\n{result.stderr[-3000:]}")
    return json.loads(lines[-1])


def check_start_api(docker_host: str) -> dict:
    port = free_port()
    command = [str(SAM), "local", "start-api", "--port", str(port), "--host", "127.0.0.1", *sam_options()]
    command += ["--env-vars", str(env_vars_file()), "--warm-containers", "LAZY"]
    log = open(WORK / "sam-local-start-api.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        command, cwd=REPO, env=sam_env(docker_host), stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"sam local start-api did not listen: {(WORK / 'sam-local-start-api.log').read_text()}"
                )
            time.sleep(0.5)
        curl = ["curl", "-sS", "--max-time", "300", "-X", "POST", f"http://127.0.0.1:{port}/predict"]
        curl += ["-H", "content-type: application/json", "-d", json.dumps({"text": GOOD})]
        print(f"\n$ sam local start-api --port {port} ...; {' '.join(curl[:6])} ...", flush=True)
        started = time.perf_counter()
        answer = subprocess.run(curl, capture_output=True, text=True, check=True).stdout
        cold = time.perf_counter() - started
        started = time.perf_counter()
        again = subprocess.run(curl, capture_output=True, text=True, check=True).stdout
        warm = time.perf_counter() - started
        print(f"{answer}\n(first request {cold:.1f} s, the next {warm:.2f} s)", flush=True)
        docs = subprocess.run(
            [
                "curl",
                "-sS",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code} %{content_type}",
                f"http://127.0.0.1:{port}/docs",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        print(f"GET /docs: {docs}", flush=True)
        label = json.loads(answer)["predictions"][0]["label"]
        assert label == "positive" and json.loads(again)["predictions"][0]["label"] == "positive", answer
        assert docs.startswith("200 text/html"), docs
        return {
            "label": label,
            "first_request_s": round(cold, 2),
            "next_request_s": round(warm, 2),
            "docs": docs,
        }
    finally:
        stop(server, timeout=60)
        log.close()


def run_check() -> int:
    WORK.mkdir(parents=True, exist_ok=True)
    aws_port = free_port()
    server, resources, job = local_aws(aws_port)
    endpoint = f"http://{bridge_gateway()}:{aws_port}"
    template = template_with_endpoint(endpoint)
    env_file = env_vars_file({**resources.environment(), "AWS_ENDPOINT_URL": endpoint})
    report: dict = {"image": local_image(), "architecture": host_architecture()[1]}
    try:
        with docker_api(WORK) as docker_host:
            api = invoke_json(docker_host, template, env_file, "Api", "api_predict_one.json")
            assert api["statusCode"] == 200, api
            assert json.loads(api["body"])["predictions"][0]["label"] == "positive", api
            explained = invoke_json(docker_host, template, env_file, "Api", "api_predict_explain.json")
            assert explained["statusCode"] == 200, explained
            request = json.loads(json.loads((EVENTS / "api_predict_explain.json").read_text())["body"])
            check_explained(request, json.loads(explained["body"]))
            worker = invoke_json(docker_host, template, env_file, "Worker", "worker_job.json")
            assert worker == {"batchItemFailures": []}, worker
            status = boto3.client("dynamodb").get_item(
                TableName=resources.jobs_table, Key={"job_id": {"S": job}}
            )["Item"]["status"]["S"]
            assert status == "done", status
            batch = invoke_json(docker_host, template, env_file, "Batch", "batch_s3_put.json")
            assert batch["results"][0]["status"] == "scored", batch
            scored = boto3.client("s3").get_object(Bucket=resources.bucket, Key="scored/my reviews.csv")
            rows = scored["Body"].read().decode().splitlines()
            print(f"job {job}: {status}; scored/my reviews.csv: {rows}", flush=True)
            assert [row.split(",")[2] for row in rows[1:]] == ["positive", "negative"], rows
            report["invoke"] = {"api": "positive", "worker": status, "batch": rows}
            report["start_api"] = check_start_api(docker_host)
    finally:
        remove_copies()
        server.stop()
    (WORK / "sam-local.json").write_text(json.dumps(report, indent=2))
    print(
        f"\nsam local: the API, worker and batch events answered and start-api predicted ({report['image']})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(run_check())

"""The benchmark report as markdown (benchmarks/report/report.md), from report.json's content."""

from __future__ import annotations

from benchmarks.fanout import render as render_fanout


def _table(header: list[str], rows: list[list]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(str(c) for c in row) + " |" for row in rows),
    ]


def render_shadow(shadow: dict) -> list[str]:
    return [
        f"## The live path with shadow scoring ({shadow['reviews']} single-review /predict calls per rate, "
        f"{shadow['threads']} thread)",
        "",
        "A sampled request costs one send to the shadow queue (the local stack's SQS) after its answer is "
        "made; the candidate scores it in another function, off this path.",
        "",
        *_table(
            ["sample rate", "requests sent", "p50 ms", "p90 ms", "p99 ms"],
            [
                [rate, b["sent"], b["ms_per_call"]["p50"], b["ms_per_call"]["p90"], b["ms_per_call"]["p99"]]
                for rate, b in shadow["by_rate"].items()
            ],
        ),
    ]


def render(r: dict) -> str:
    m = r["machine"]
    lines = [
        "# Benchmark report",
        "",
        f"`{r['command']}` on {r['date']}: {m['cpu']} ({m['arch']}), {m['cores']} cores, "
        f"Python {m['python']}, onnxruntime {m['onnxruntime']}. Inputs are IMDB test reviews "
        "spread over the split. Everything here is measured on this machine; the memory-size "
        "table below is modelled from these measurements for arm64 Lambda.",
        "",
        *[
            f"- Section `{name}` rerun on {rerun['date']} ({rerun['cpu']}): `{rerun['command']}`; "
            "compare its figures with each other, not with the other sections."
            for name, rerun in r.get("reruns", {}).items()
        ],
        "",
        "## Speed-ups against the service's performance budget",
        "",
        *_table(
            ["ratio", "budget", "measured", "within budget"],
            [
                [k.replace("_", " "), f"{v['target']}x", f"{v['measured']}x", "yes" if v["met"] else "**no**"]
                for k, v in r["targets"].items()
            ],
        ),
        "",
        "The batch ratio compares like with like: the batch function and one-at-a-time calls to the "
        "core on the same threads. As deployed, a client calling `/predict` review by review gets the API's "
        "one thread, while a CSV gets the batch function's cores: "
        + (
            "{batch_rows_per_s} rows/s ({batch_threads} threads) vs {api_calls_per_s_1_thread} calls/s, "
            "{ratio}x.".format(**r["batch_vs_api_calls_as_deployed"])
            if "batch_vs_api_calls_as_deployed" in r
            else ""
        ),
        "",
        "## Warm API handler latency (event in, response out)",
        "",
    ]
    rows = []
    for threads, result in r["latency"].items():
        for batch, b in result["by_batch"].items():
            ms = b["ms_per_call"]
            rows.append([threads, batch, ms["p50"], ms["p90"], ms["p99"], b["reviews_per_s"]])
    lines += _table(["threads", "reviews per call", "p50 ms", "p90 ms", "p99 ms", "reviews/s"], rows)

    if "shadow" in r:
        lines += ["", *render_shadow(r["shadow"])]

    rt = r["runtimes"]
    lines += [
        "",
        f"## The same reviews through each runtime (batch 1, 1 thread, {rt['reviews']} reviews, "
        f"median {rt['median_tokens']} word pieces)",
        "",
        f"PyTorch and fp32 ONNX weights: {rt['sources']['pytorch']}. Runtimes other than the handler "
        "time the model call alone on pre-tokenized input; TF-IDF includes its vectorizer.",
        "",
    ]
    lines += _table(
        ["runtime", "p50 ms", "p99 ms", "x API handler p50"],
        [
            [name, ms["p50"], ms["p99"], rt["x_of_handler_p50"][name]]
            for name, ms in sorted(rt["ms"].items(), key=lambda kv: kv[1]["p50"])
        ],
    )

    cold = r["cold_start"]
    service, torch = cold["service"], cold["torch_transformers"]
    lines += [
        "",
        f"## Cold start: fresh process to first prediction (median of {service['runs']})",
        "",
    ]
    lines += _table(
        ["part", "this service ms", "torch + transformers ms"],
        [
            ["imports", service["imports_ms"] + service["powertools_ms"], torch["imports_ms"]],
            ["model load", service["model_load_ms"], torch["model_load_ms"]],
            ["  of which sha256 check", service["load_verify_ms"], "-"],
            ["  of which tokenizer", service["load_tokenizer_ms"], "-"],
            ["  of which onnxruntime session", service["load_session_ms"], "-"],
            ["first prediction", service["first_prediction_ms"], torch["first_prediction_ms"]],
            ["**total**", service["to_first_prediction_ms"], torch["to_first_prediction_ms"]],
        ],
    )
    lines += [
        "",
        f"torch + transformers takes **{cold['torch_over_service']}x** as long; "
        f"torch imported by the service: {service['torch_imported']}.",
    ]
    if "handlers_vs_bare" in cold:  # reports from before it was measured lack it
        vs = cold["handlers_vs_bare"]
        lines += [
            "",
            f"Each handler from process start to its first answered event (median of {vs['runs']}, "
            "interleaved), against a bare process that imports onnxruntime and tokenizers, loads the "
            f"model and predicts once: {vs['bare_ms']} ms wall, {vs['bare_cpu_ms']} ms CPU. "
            '"first event" is the part after init: the event\'s own work, its AWS requests included.',
            "",
        ]
        lines += _table(
            ["handler", "ms", "x bare", "of which first event ms", "CPU ms", "x bare CPU"],
            [
                [
                    name,
                    h["ms"],
                    f"{h['vs_bare']}x",
                    h.get("first_event_ms", "-"),
                    h["cpu_ms"],
                    f"{h['cpu_vs_bare']}x",
                ]
                for name, h in vs["handlers"].items()
            ],
        )
        if "libraries" in vs:
            lib = vs["libraries"]
            lines += [
                "",
                "Importing the libraries the handlers use (numpy, onnxruntime, tokenizers, boto3, "
                f"Powertools' event handler, metrics, batch and idempotency) and nothing else: "
                f"{lib['ms']} ms, **{lib['vs_bare']}x** the bare process, before any model, AWS client "
                "or request.",
            ]
        if "worker_aws" in vs:
            aws = vs["worker_aws"]
            lines += [
                "",
                "The AWS work of the worker's first event alone (import boto3, make its three clients, "
                "the six requests of a job, against the same local stack): "
                f"{aws['ms']} ms, **{aws['vs_bare']}x** the bare process.",
            ]

    b2, b1 = r["batch"]["2"], r["batch"]["1"]
    lines += [
        "",
        "## Batch function throughput (S3 event, CSV streamed from and written to S3 via moto)",
        "",
    ]
    lines += _table(
        ["threads", "rows", "batch function rows/s", "one at a time rows/s", "ratio"],
        [
            [
                2,
                b2["batch_function"]["rows"],
                b2["batch_function"]["rows_per_s"],
                b2["one_at_a_time_core"]["rows_per_s"],
                f"{b2['speedup']}x",
            ],
            [1, b1["batch_function"]["rows"], b1["batch_function"]["rows_per_s"], "-", "-"],
        ],
    )

    if "model_versions" in r:
        lines += ["", "## The served model vs the transformer alone", ""]
        lines += render_model_versions(r["model_versions"])

    mem = r["memory"]
    if "fanout" in r:
        lines += ["", "## CSV fan-out on the local stack vs one invocation (short reviews)", ""]
        lines += render_fanout(r["fanout"]).splitlines()
    lines += ["", "## Peak memory (RSS) per function process", ""]
    lines += _table(
        ["function", "invocation", "after init MB", "peak MB"],
        [
            [
                name,
                {
                    "api": f"{mem['api_texts']} reviews",
                    "worker": f"job of {mem['job_texts']}",
                    "batch": f"{mem['csv_rows']}-row CSV",
                }[name],
                f["rss_after_init_mb"],
                f["peak_rss_mb"],
            ]
            for name, f in mem["functions"].items()
        ],
    )

    lines += ["", "## Time vs input length and batch size (int8 session)", "", "![scaling](scaling.png)", ""]
    lines += _table(
        ["threads", "tokens", "batch", "ms per call", "ms per review", "reviews/s"],
        [
            [s["threads"], p["tokens"], p["batch"], p["ms_per_call"], p["ms_per_review"], p["reviews_per_s"]]
            for s in r["scaling"]
            for p in s["points"]
        ],
    )

    rec = r["recommendation"]
    inputs = rec["inputs"]
    lines += [
        "",
        "## Lambda memory size recommendation (modelled for arm64)",
        "",
        f"From the measured p50 ({inputs['predict_p50_ms_1_thread']} ms at 1 thread, "
        f"{inputs['predict_p50_ms_2_threads']} ms at 2) and batch rate "
        f"({inputs['batch_rows_per_s_1_thread']} / "
        f"{inputs['batch_rows_per_s_2_threads']} rows/s): parallel fraction "
        f"{inputs['parallel_fraction_predict']} (predict) and {inputs['parallel_fraction_batch']} (batch). "
        "CPU share = memory / 1,769 MB; arm64 $0.0000133334 per GB-s and $0.20 per million requests. "
        "Per-vCPU speed is taken as this machine's: re-run `make bench` on a Graviton host to replace it.",
        "",
    ]
    lines += _table(
        [
            "memory MB",
            "vCPUs",
            "threads",
            "predict p50 ms",
            "$ per 1M predictions",
            "batch rows/s",
            "$ per 1M rows",
            "rows per invocation",
        ],
        [
            [
                t["memory_mb"],
                t["vcpus"],
                t["threads"],
                t["predict_p50_ms"],
                t["usd_per_million_predictions"],
                t["batch_rows_per_s"],
                t["usd_per_million_rows"],
                f"{t['rows_per_invocation']:,}",
            ]
            for t in rec["table"]
        ],
    )
    lines += [
        "",
        f"Rule: {rec['rule']}. **API: {rec['api_memory_mb']} MB; "
        f"batch and worker: {rec['batch_memory_mb']} MB** "
        "(the template's defaults).",
        "",
    ]
    return "\n".join(lines)


def render_model_versions(m: dict) -> list[str]:
    served, transformer = m["artifacts"]["served"], m["artifacts"]["transformer"]
    lines = [
        f"Two API handler processes took turns on the same {m['reviews']} test reviews, "
        f"{m['rounds']} rounds, one review per /predict, 1 thread (`python -m benchmarks.model_versions`).",
        "",
    ]
    lines += _table(
        [
            "model",
            "API p50 ms",
            "p90 ms",
            "p99 ms",
            "artifact MB",
            "load ms (median of 5)",
            "of which linear",
        ],
        [
            [
                f"{a['version']} ({name})",
                m["api_ms"][name]["p50"],
                m["api_ms"][name]["p90"],
                m["api_ms"][name]["p99"],
                round(a["bytes"] / 1e6, 2),
                round(sum(a["load_ms_median"].values()), 1),
                a["load_ms_median"].get("linear_ms", "-"),
            ]
            for name, a in (("served", served), ("transformer", transformer))
        ],
    )
    lines += [
        "",
        f"API p50, served / transformer alone: **{m['p50_ratio_served_over_transformer']}x**. "
        f"The image changes only in /opt/model: {m['image_bytes_difference'] / 1e6:+.2f} MB.",
    ]
    return lines

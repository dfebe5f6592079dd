"""What an explanation costs, and how faithful it is (python -m benchmarks.explain [--reviews 500] [--json]).

On test reviews spread over the split (measuring only; nothing is tuned on them), one thread:
- cost: wall time of a plain prediction and of an explained one of the same review (p50, p90), and
  per review the ratio explained / plain beside its bound, spans + 2 (explain.py); the median ratio
  must stay at or under the median bound;
- fidelity (ERASER, DeYoung et al. 2020), for the predicted label's probability p of reviews of at
  least three spans: comprehensiveness = p - p(review without the chosen sentences), higher is better;
  sufficiency = p - p(chosen sentences alone), lower is better. The chosen sentences are the top 1 and 2
  by contribution toward the predicted label, beside two baselines: random sentences (seeded) and the
  last ones (where reviews tend to give their verdict). Top-1 comprehensiveness must be at least twice
  the random baseline's.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

from benchmarks.common import percentiles, spread_texts
from sentiment_core import settings
from sentiment_core.explain import Explanation, explain
from sentiment_core.model import SentimentModel

SEED = 13
TOP = (1, 2)
MIN_SPANS = 3  # with fewer, the top sentences and the baselines are mostly the same sentences
MIN_COMPREHENSIVENESS_VS_RANDOM = 2.0


def _timed(fn, text: str) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn(text)
    return (time.perf_counter() - started) * 1000, result


def cost(model: SentimentModel, texts: list[str]) -> tuple[dict, list[Explanation]]:
    """Plain and explained wall times per review, alternating so a noisy neighbour slows both alike."""
    plain_ms, explained_ms, ratios, bounds, explanations = [], [], [], [], []
    model.predict(texts[:3])  # warm-up
    for text in texts:  # the faster of two runs each: a neighbour's burst inflates one run, not both
        plain = min(_timed(lambda t: model.predict([t]), text)[0] for _ in range(2))
        explained, (explanation,) = min(
            (_timed(lambda t: explain(model, [t]), text) for _ in range(2)), key=lambda r: r[0]
        )
        plain_ms.append(plain)
        explained_ms.append(explained)
        ratios.append(explained / plain)
        bounds.append(len(explanation.sentences) + 2)
        explanations.append(explanation)
    return {
        "plain_ms": percentiles(plain_ms),
        "explained_ms": percentiles(explained_ms),
        "median_ratio": round(statistics.median(ratios), 2),
        "median_spans_plus_2": statistics.median(bounds),
        # Each review against its own bound: the median of ratio / (spans + 2) must be at most 1.
        "median_ratio_over_bound": round(
            statistics.median(r / b for r, b in zip(ratios, bounds, strict=True)), 3
        ),
        "median_ratio_over_bound_not_truncated": round(
            statistics.median(
                r / b
                for r, b, e in zip(ratios, bounds, explanations, strict=True)
                if not e.prediction.truncated
            ),
            3,
        ),
        "reviews_within_bound": sum(r <= b for r, b in zip(ratios, bounds, strict=True)),
        "median_spans": statistics.median(b - 2 for b in bounds),
        "reviews_truncated": sum(e.prediction.truncated for e in explanations),
    }, explanations


def _keep(text: str, spans: list[tuple[int, int]]) -> str:
    return " ".join(text[start:end] for start, end in sorted(spans))


def _drop(text: str, spans: list[tuple[int, int]]) -> str:
    pieces, cursor = [], 0
    for start, end in sorted(spans):
        pieces.append(text[cursor:start])
        cursor = end
    return " ".join([*pieces, text[cursor:]])


def choices(explanation: Explanation, k: int, rng: random.Random) -> dict[str, list[tuple[int, int]]]:
    """The sentences each method picks: top by contribution toward the label, random, last."""
    sign = 1 if explanation.prediction.label == "positive" else -1
    read = [s for s in explanation.sentences if s.read]
    ranked = sorted(read, key=lambda s: -(s.contribution or 0.0) * sign)
    return {
        "explanation": [(s.start, s.end) for s in ranked[:k]],
        "random": [(s.start, s.end) for s in rng.sample(read, k)],
        "last": [(s.start, s.end) for s in explanation.sentences[-k:]],
    }


def fidelity(model: SentimentModel, texts: list[str], explanations: list[Explanation]) -> dict:
    rng = random.Random(SEED)
    sums: dict[str, dict[str, list[float]]] = {}
    reviews = 0
    for text, explanation in zip(texts, explanations, strict=True):
        if sum(s.read for s in explanation.sentences) < MIN_SPANS:
            continue
        reviews += 1
        label = explanation.prediction.label
        p = explanation.prediction.probabilities[label]
        asked = []
        for k in TOP:
            for method, spans in choices(explanation, k, rng).items():
                asked.append((f"{method}_top{k}", _drop(text, spans), _keep(text, spans)))
        scored = model.predict([t for _, without, alone in asked for t in (without, alone)])
        for i, (name, _, _) in enumerate(asked):
            entry = sums.setdefault(name, {"comprehensiveness": [], "sufficiency": []})
            entry["comprehensiveness"].append(p - scored[2 * i].probabilities[label])
            entry["sufficiency"].append(p - scored[2 * i + 1].probabilities[label])
    table = {
        name: {measure: round(statistics.fmean(values), 4) for measure, values in entry.items()}
        for name, entry in sums.items()
    }
    ratio = table["explanation_top1"]["comprehensiveness"] / max(
        table["random_top1"]["comprehensiveness"], 1e-9
    )
    return {
        "reviews": reviews,
        "min_spans": MIN_SPANS,
        "seed": SEED,
        "by_method": table,
        "top1_vs_random": round(ratio, 2),
    }


def run(reviews: int) -> dict:
    model = SentimentModel(settings.current().model_dir, threads=1)
    texts = spread_texts(reviews)
    cost_figures, explanations = cost(model, texts)
    faithful = fidelity(model, texts, explanations)
    return {
        "model": f"{model.name} {model.version}",
        "reviews": len(texts),
        "threads": 1,
        "cost": cost_figures,
        "fidelity": faithful,
        "checks": {
            "median_ratio_within_spans_plus_2": cost_figures["median_ratio_over_bound"] <= 1,
            "top1_comprehensiveness_at_least_2x_random": faithful["top1_vs_random"]
            >= MIN_COMPREHENSIVENESS_VS_RANDOM,
        },
    }


def markdown(report: dict) -> str:
    """The report's section on explanations (benchmarks/__main__.py appends it to report.md)."""
    c, f = report["cost"], report["fidelity"]
    lines = [
        f"## Explanations: cost and fidelity ({report['reviews']} test reviews, {report['threads']} thread, "
        f"model {report.get('model', 'as served')})",
        "",
        "| prediction | p50 ms | p90 ms |",
        "| --- | --- | --- |",
        f"| plain | {c['plain_ms']['p50']} | {c['plain_ms']['p90']} |",
        f"| explained | {c['explained_ms']['p50']} | {c['explained_ms']['p90']} |",
        "",
        f"Explained / plain, same review: median {c['median_ratio']}x, against a median bound of spans + 2 "
        f"= {c['median_spans_plus_2']}; per review, the median of ratio / (spans + 2) is "
        f"{c['median_ratio_over_bound']} ({c['median_ratio_over_bound_not_truncated']} for reviews not "
        f"truncated; {c['reviews_within_bound']} of {report['reviews']} reviews within their own bound; "
        f"median {c['median_spans']} spans; {c['reviews_truncated']} reviews truncated by the transformer).",
        "",
        f"ERASER fidelity on the {f['reviews']} reviews of at least {f['min_spans']} read spans "
        "(comprehensiveness: higher is better; sufficiency: lower is better):",
        "",
        "| sentences chosen | comprehensiveness | sufficiency |",
        "| --- | --- | --- |",
    ]
    for k in TOP:
        for method, label in (("explanation", "top by contribution"), ("random", "random"), ("last", "last")):
            r = f["by_method"][f"{method}_top{k}"]
            lines.append(f"| {label}, {k} | {r['comprehensiveness']:.4f} | {r['sufficiency']:.4f} |")
    met = {name: "met" if ok else "NOT met" for name, ok in report["checks"].items()}
    lines += [
        "",
        f"Top-1 comprehensiveness is {f['top1_vs_random']}x the random baseline's "
        f"(at least {MIN_COMPREHENSIVENESS_VS_RANDOM:g}x: "
        f"{met['top1_comprehensiveness_at_least_2x_random']}); "
        f"explained / plain within spans + 2: {met['median_ratio_within_spans_plus_2']}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reviews", type=int, default=500)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args()
    report = run(args.reviews)
    print(json.dumps(report) if args.json else markdown(report))


if __name__ == "__main__":
    main()

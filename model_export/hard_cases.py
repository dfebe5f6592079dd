"""Accuracy on hand-written hard cases: negation, contrast, reversed expectations, a rating alone,
sarcasm, emoji, HTML. Small and not IMDB-like on purpose: it shows how the served model meets
text unlike its training reviews, not what its accuracy is.

    python -m model_export.hard_cases [--model-dir DIR] [--misses]

prints the figure for a model artifact (default: the one the service loads); the evaluate stage
writes the same figure into the manifest.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from sentiment_core.model import SentimentModel

CASES = Path(__file__).with_name("hard_cases.jsonl")


def load_cases(path: Path = CASES) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def hard_case_accuracy(model: SentimentModel, path: Path = CASES) -> dict:
    """Overall and per-category accuracy, and each case the model gets wrong."""
    cases = load_cases(path)
    predictions = model.predict([c["text"] for c in cases])
    by_category: dict[str, list[bool]] = defaultdict(list)
    misses = []
    for case, prediction in zip(cases, predictions, strict=True):
        right = prediction.label == case["label"]
        by_category[case["category"]].append(right)
        if not right:
            misses.append({**case, "score": round(prediction.score, 4)})
    return {
        "file": f"model_export/{path.name}",
        "cases": len(cases),
        "accuracy": round((len(cases) - len(misses)) / len(cases), 4),
        "by_category": {
            name: {"accuracy": round(sum(hits) / len(hits), 4), "cases": len(hits)}
            for name, hits in sorted(by_category.items())
        },
        "misses": misses,
    }


def main() -> None:
    from sentiment_core import settings

    parser = argparse.ArgumentParser(
        prog="python -m model_export.hard_cases",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model-dir", type=Path, default=None, help="a model artifact (default: the served one)"
    )
    parser.add_argument("--misses", action="store_true", help="also list the cases the model gets wrong")
    args = parser.parse_args()
    model = SentimentModel(args.model_dir or settings.current().model_dir, threads=1)
    result = hard_case_accuracy(model)
    if not args.misses:
        result.pop("misses")
    print(json.dumps({"model": f"{model.name} {model.version}", **result}, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""The OpenAPI document's example of an explained prediction: a real answer of the committed model.

tests/model/test_explain.py holds it to what the model answers; after a new model, print the new one with
`python -m functions.api.examples` and paste it here.
"""

from __future__ import annotations

import pprint

REVIEW = (
    "I watched this on a rainy Sunday with my brother. The story takes a while to get going. "
    "But the final hour is wonderful, moving and beautifully acted. The cinema was half empty."
)
EXPLAINED_RESPONSE = {
    "model": {"name": "imdb-minilm-sentiment", "version": "1.2.0"},
    "predictions": [
        {
            "label": "positive",
            "score": 0.999969,
            "probabilities": {"negative": 3.1e-05, "positive": 0.999969},
            "truncated": False,
            "sentences": [
                {
                    "start": 0,
                    "end": 49,
                    "label": "positive",
                    "score": 0.74022,
                    "contribution": -2.5e-05,
                    "read": True,
                },
                {
                    "start": 50,
                    "end": 87,
                    "label": "positive",
                    "score": 0.997976,
                    "contribution": 4.2e-05,
                    "read": True,
                },
                {
                    "start": 88,
                    "end": 150,
                    "label": "positive",
                    "score": 1.0,
                    "contribution": 0.977182,
                    "read": True,
                },
                {
                    "start": 151,
                    "end": 177,
                    "label": "negative",
                    "score": 0.99946,
                    "contribution": -3e-05,
                    "read": True,
                },
            ],
        }
    ],
}


def predict_examples() -> dict[str, dict]:
    """/predict's answers to the review, plain and with explain: true, in OpenAPI's `examples` form."""
    plain = {
        **EXPLAINED_RESPONSE,
        "predictions": [
            {k: v for k, v in p.items() if k != "sentences"} for p in EXPLAINED_RESPONSE["predictions"]
        ],
    }
    return {
        "plain": {"summary": "A review", "value": plain},
        "explained": {"summary": "The same review with explain: true", "value": EXPLAINED_RESPONSE},
    }


def answer(model) -> dict:
    """What `model` answers to the example request (the API's response shape)."""
    from sentiment_core.explain import explain
    from sentiment_core.responses import explained_fields, model_fields

    return {
        "model": model_fields(model),
        "predictions": [explained_fields(e) for e in explain(model, [REVIEW])],
    }


if __name__ == "__main__":
    from sentiment_core.model import get_model

    pprint.pprint(answer(get_model()), sort_dicts=False)

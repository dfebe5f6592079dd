"""Turning core predictions into the public response shapes (schemas.py documents and validates them).

The plain-dict forms need no pydantic: the worker writes them as they are, and so starts without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sentiment_core.model import Prediction, SentimentModel

if TYPE_CHECKING:
    from sentiment_core.csv_scoring import Scorer
    from sentiment_core.explain import Explanation
    from sentiment_core.schemas import ModelInfo, PredictionOut


def model_fields(model: SentimentModel | Scorer) -> dict:
    return {"name": model.name, "version": model.version}


def prediction_fields(prediction: Prediction) -> dict:
    return {
        "label": prediction.label,
        "score": round(prediction.score, 6),
        "probabilities": {k: round(v, 6) for k, v in prediction.probabilities.items()},
        "truncated": prediction.truncated,
    }


def explained_fields(explanation: Explanation) -> dict:
    """A prediction with its `sentences`, as `explain` requests get it."""
    return {
        **prediction_fields(explanation.prediction),
        "sentences": [
            {
                "start": s.start,
                "end": s.end,
                "label": s.label,
                "score": round(s.score, 6),
                "contribution": None if s.contribution is None else round(s.contribution, 6),
                "read": s.read,
            }
            for s in explanation.sentences
        ],
    }


def model_info(model: SentimentModel) -> ModelInfo:
    from sentiment_core.schemas import ModelInfo

    return ModelInfo.model_validate(model_fields(model))


def prediction_out(prediction: Prediction) -> PredictionOut:
    from sentiment_core.schemas import PredictionOut

    return PredictionOut.model_validate(prediction_fields(prediction))


def explained_out(explanation: Explanation) -> PredictionOut:
    from sentiment_core.schemas import PredictionOut

    return PredictionOut.model_validate(explained_fields(explanation))

"""Turning core predictions into the public response shapes."""

from __future__ import annotations

from sentiment_core.model import Prediction, SentimentModel
from sentiment_core.schemas import ModelInfo, PredictionOut, Probabilities


def model_info(model: SentimentModel) -> ModelInfo:
    return ModelInfo(name=model.name, version=model.version)


def prediction_out(prediction: Prediction) -> PredictionOut:
    return PredictionOut(
        label=prediction.label,  # type: ignore[arg-type]
        score=round(prediction.score, 6),
        probabilities=Probabilities(**{k: round(v, 6) for k, v in prediction.probabilities.items()}),
        truncated=prediction.truncated,
    )

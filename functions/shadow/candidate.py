"""The shadow function's model: the candidate the image carries, and only the version the stack names."""

from __future__ import annotations

import dataclasses

from sentiment_core.manifest import MANIFEST
from sentiment_core.model import ModelLoadError, SentimentModel, get_model
from sentiment_core.settings import Settings


def load_candidate(settings: Settings) -> SentimentModel:
    """The candidate in shadow_model_dir, verified like the live model, and only the version the stack
    names: an image built with another candidate would publish figures under the wrong name."""
    if not settings.shadow_model_version:
        raise ModelLoadError("SHADOW_MODEL_VERSION is not set: the shadow cannot tell which candidate to run")
    if not (settings.shadow_model_dir / MANIFEST).is_file():
        raise ModelLoadError(
            f"no candidate model in {settings.shadow_model_dir}: build the image with "
            "SHADOW_MODEL_SOURCE=build/shadow-model (make fetch-shadow-model VERSION=<ShadowModelVersion>)"
        )
    candidate = get_model(dataclasses.replace(settings, model_dir=settings.shadow_model_dir))
    if candidate.version != settings.shadow_model_version:
        raise ModelLoadError(
            f"{settings.shadow_model_dir} holds version {candidate.version}, the stack's "
            f"ShadowModelVersion is {settings.shadow_model_version}: build the image with that "
            "candidate (make fetch-shadow-model)"
        )
    return candidate

"""Resumable training state: a stage's model, optimizer, schedule, RNG and progress in one file.

Written to a temporary file and renamed, so an interrupted save leaves the previous checkpoint whole.
A checkpoint of another recipe (changed hyperparameters) is not resumed: the stage starts over.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

log = logging.getLogger(__name__)


def resume(path: Path, recipe: dict, model, optimizer, scheduler) -> dict | None:
    """Restore model, optimizer, schedule and RNG from `path` and return the stage's progress fields,
    or None when there is nothing of this recipe to resume."""
    if not path.exists():
        return None
    state = torch.load(path, weights_only=False)
    if state["recipe"] != recipe:
        log.info("%s is a checkpoint of another recipe, starting over", path)
        return None
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    return state["progress"]


def save(path: Path, recipe: dict, model, optimizer, scheduler, progress: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "recipe": recipe,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "progress": progress,
        },
        tmp,
    )
    tmp.replace(path)

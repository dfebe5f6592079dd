"""The masked-LM pretrain and multi-seed fine-tune stages at a tiny scale on CPU: they run, resume
after an interruption, skip when done, record their figures, and never open the test split."""

from __future__ import annotations

import csv
import gzip
import json
import logging
import math

import pytest

from model_export import pretrain, settings, train
from model_export.hard_cases import load_cases

LABELS = {"negative": 0, "positive": 1}


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A 40-review train file and a work dir; the test file does not exist, so reading it would fail."""
    cases = load_cases()
    rows = [
        {"id": str(i), "label": LABELS[c["label"]], "text": f"{c['text']} Review number {i}."}
        for i, c in enumerate(cases[::2] + cases[1::2][:14])
    ]
    train_csv = tmp_path / "train.csv.gz"
    with gzip.open(train_csv, "wt", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "label", "text"])
        writer.writeheader()
        writer.writerows(rows)
    work = tmp_path / "work"
    for name, path in {
        "TRAIN_CSV": train_csv,
        "TEST_CSV": tmp_path / "absent" / "test.csv.gz",
        "WORK_DIR": work,
        "PRETRAIN_CHECKPOINT_DIR": work / "pretrain-checkpoint",
        "PRETRAINED_DIR": work / "pretrained",
        "CHECKPOINT_DIR": work / "checkpoint",
        "TRAINED_DIR": work / "trained",
    }.items():
        monkeypatch.setattr(settings, name, path)
    monkeypatch.setattr(pretrain, "EPOCHS", 2)
    monkeypatch.setattr(pretrain, "BATCH_SIZE", 16)
    monkeypatch.setattr(pretrain, "LOSS_SAMPLE", 6)
    monkeypatch.setattr(pretrain, "CHECKPOINT_EVERY", 2)
    monkeypatch.setattr(train, "EPOCHS", 1)
    monkeypatch.setattr(train, "BATCH_SIZE", 16)
    monkeypatch.setattr(train, "SEEDS", [1, 2])
    monkeypatch.setattr(train, "EVALS_PER_EPOCH", 1)
    return work


def test_pretrain_resumes_after_an_interruption_then_skips_when_done(tiny, monkeypatch, caplog):
    real = pretrain._collator
    calls = {"n": 0}

    def interrupted_in_the_first_epoch():
        collator = real()

        def collate(examples):
            calls["n"] += 1
            if calls["n"] == 4:  # a held-out batch, then steps 1 and 2 (checkpointed), then stop
                raise KeyboardInterrupt
            return collator(examples)

        return collate

    monkeypatch.setattr(pretrain, "_collator", interrupted_in_the_first_epoch)
    with pytest.raises(KeyboardInterrupt):
        pretrain.pretrain()
    assert (settings.PRETRAIN_CHECKPOINT_DIR / "state.pt").exists()
    assert not pretrain.done()

    monkeypatch.setattr(pretrain, "_collator", real)
    caplog.set_level(logging.INFO, logger="model_export.pretrain")
    encoder = pretrain.pretrain()
    assert "resuming at step 2/6" in caplog.text
    report = json.loads((settings.PRETRAINED_DIR / "pretrain_report.json").read_text())
    assert pretrain.done() and report["recipe"]["epochs"] == 2
    assert report["steps"] == 2 * math.ceil(report["examples"] / 16)
    assert len(report["history"]) == 2  # one entry per epoch
    loss = report["held_out_mlm_loss"]
    assert loss["split"].startswith("validation")
    assert math.isfinite(loss["before"]) and math.isfinite(loss["after"])
    assert (encoder / "config.json").exists() and (encoder / "model.safetensors").exists()

    caplog.clear()
    pretrain.pretrain()
    assert "skipping" in caplog.text


def test_fine_tune_runs_each_seed_and_keeps_the_best_on_validation(tiny, monkeypatch):
    with pytest.raises(RuntimeError, match="pretrain"):
        train.train()  # fine-tuning starts from the adapted encoder, never silently from the base model
    monkeypatch.setattr(pretrain, "EPOCHS", 1)
    pretrain.pretrain()
    train.train()
    report = json.loads((settings.TRAINED_DIR / "train_report.json").read_text())
    seeds = report["seeds"]
    assert sorted(seeds) == ["1", "2"]
    best = max(seeds.values(), key=lambda s: s["best_validation_accuracy"])
    assert report["chosen_seed"] == best["seed"]
    assert report["best_validation_accuracy"] == best["best_validation_accuracy"]
    assert (settings.TRAINED_DIR / "best" / "config.json").exists()
    assert report["start"].startswith("task-adaptive masked-LM")

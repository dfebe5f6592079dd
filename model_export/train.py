"""Fine-tune the adapted encoder (see `pretrain`) for binary sentiment on the IMDB train split.

All weights train (lr 5e-5, batch 32, 4 epochs: the best plain recipe of the study in the shared
notes), once per seed; the seed with the best validation accuracy is the model (seed noise is
about +-0.2 points, so one run says little). Speed on a 2-core CPU comes from bf16 autocast where
the CPU has it (or a CUDA GPU) and length-bucketed dynamic padding. Checkpoints every few hundred
steps make an interrupted run resumable, seed by seed.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from model_export import checkpoint, pretrain, settings
from model_export.data import length_bucketed_batches, load_reviews, train_validation_split
from model_export.modeling import apply_gradients, load_base_tokenizer, pick_device
from sentiment_core.preprocess import Encoded, encode_batch, pad_batch

log = logging.getLogger(__name__)

BATCH_SIZE = 32
LEARNING_RATE = 5e-5
WARMUP_FRACTION = 0.06
EPOCHS = int(os.environ.get("TRAIN_EPOCHS", "4"))
SEEDS = [int(s) for s in os.environ.get("TRAIN_SEEDS", "13,21").split(",")]
EVALS_PER_EPOCH = 3
CHECKPOINT_EVERY = 200


def recipe() -> dict:
    return {
        "start": "pretrain stage encoder (task-adaptive masked-LM)",
        "epochs": EPOCHS,
        "batch_size": BATCH_SIZE,
        "learning_rate": LEARNING_RATE,
        "warmup_fraction": WARMUP_FRACTION,
        "weight_decay": 0.01,
        "frozen": [],
        "seeds": SEEDS,
    }


def to_tensors(batch: list[Encoded], device: torch.device) -> dict[str, torch.Tensor]:
    input_ids, attention_mask = pad_batch(batch)
    return {
        "input_ids": torch.from_numpy(input_ids).to(device),
        "attention_mask": torch.from_numpy(attention_mask).to(device),
    }


@torch.no_grad()
def accuracy(model, encoded: list[Encoded], labels: list[int], device, autocast_dtype) -> float:
    model.eval()
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i].ids))
    correct = 0
    for start in tqdm(range(0, len(order), 64), desc="validate", leave=False):
        idx = order[start : start + 64]
        with torch.autocast(
            device.type, dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None
        ):
            logits = model(**to_tensors([encoded[i] for i in idx], device)).logits
        correct += sum(int(p == labels[i]) for p, i in zip(logits.argmax(-1).tolist(), idx, strict=True))
    model.train()
    return correct / len(encoded)


def train_seed(seed: int, data: dict, force: bool) -> dict:
    """One fine-tune; its best validation checkpoint goes to TRAINED_DIR/seed-<seed>/best."""
    from transformers import AutoModelForSequenceClassification, get_linear_schedule_with_warmup

    out_dir = settings.TRAINED_DIR / f"seed-{seed}"
    report_path = out_dir / "seed_report.json"
    if report_path.exists() and not force and json.loads(report_path.read_text())["recipe"] == recipe():
        log.info("train: seed %d done, skipping", seed)
        return json.loads(report_path.read_text())

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    device, autocast_dtype = data["device"], data["autocast"]
    model = AutoModelForSequenceClassification.from_pretrained(
        pretrain.encoder_dir(),
        num_labels=2,
        id2label=dict(enumerate(settings.LABELS)),
        label2id={name: i for i, name in enumerate(settings.LABELS)},
    ).to(device)

    rng = random.Random(seed)
    epochs = [
        length_bucketed_batches([len(e.ids) for e in data["train_enc"]], BATCH_SIZE, rng)
        for _ in range(EPOCHS)
    ]
    schedule = [batch for epoch in epochs for batch in epoch]
    total_steps = len(schedule)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.01)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(WARMUP_FRACTION * total_steps), total_steps)
    eval_every = max(1, len(epochs[0]) // EVALS_PER_EPOCH)

    step, best_acc, history, runs = 0, -1.0, [], []
    state_path = settings.CHECKPOINT_DIR / f"seed-{seed}" / "state.pt"
    progress = None if force else checkpoint.resume(state_path, recipe(), model, optimizer, scheduler)
    if progress:
        step, best_acc = progress["step"], progress["best_acc"]
        history, runs = progress["history"], progress["runs"]
        log.info("train: seed %d resuming at step %d/%d", seed, step, total_steps)
    runs.append({"from_step": step, "to_step": total_steps})

    def save_checkpoint() -> None:
        progress = {"step": step, "best_acc": best_acc, "history": history, "runs": runs}
        checkpoint.save(state_path, recipe(), model, optimizer, scheduler, progress)

    model.train()
    started = time.perf_counter()
    progress = tqdm(total=total_steps, initial=step, desc=f"train seed {seed}", unit="step")
    while step < total_steps:
        batch = schedule[step]
        inputs = to_tensors([data["train_enc"][i] for i in batch], device)
        labels = torch.tensor([data["train_labels"][i] for i in batch], device=device)
        with torch.autocast(
            device.type, dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None
        ):
            loss = model(**inputs, labels=labels).loss
        apply_gradients(loss, model, optimizer, scheduler)
        step += 1
        progress.update(1)
        progress.set_postfix(loss=f"{loss.item():.3f}")
        if step % eval_every == 0 or step == total_steps:
            acc = accuracy(model, data["val_enc"], data["val_labels"], device, autocast_dtype)
            history.append({"step": step, "validation_accuracy": round(acc, 5)})
            log.info("seed %d step %d: validation accuracy %.4f", seed, step, acc)
            if acc > best_acc:  # early stopping by selection: keep the best validation checkpoint
                best_acc = acc
                model.save_pretrained(out_dir / "best")
            save_checkpoint()
        elif step % CHECKPOINT_EVERY == 0:
            save_checkpoint()
    progress.close()

    report = {
        "recipe": recipe(),
        "seed": seed,
        "best_validation_accuracy": round(best_acc, 5),
        "seconds_this_run": round(time.perf_counter() - started, 1),
        "history": history,
        "runs": runs,
    }
    report_path.write_text(json.dumps(report, indent=2))
    return report


def train(force: bool = False) -> Path:
    done_marker = settings.TRAINED_DIR / "train_report.json"
    if done_marker.exists() and not force and json.loads(done_marker.read_text()).get("recipe") == recipe():
        log.info("train: %s exists, skipping (use --force to retrain)", done_marker)
        return settings.TRAINED_DIR
    if not pretrain.done():
        raise RuntimeError(
            "train starts from the pretrain stage's encoder: run `python -m model_export pretrain`"
        )

    torch.set_num_threads(os.cpu_count() or 1)
    device, autocast_dtype = pick_device()
    tokenizer = load_base_tokenizer()
    train_set, validation = train_validation_split(load_reviews(settings.TRAIN_CSV))
    log.info(
        "train %d, validation %d reviews; seeds %s; device %s, autocast %s",
        len(train_set),
        len(validation),
        SEEDS,
        device,
        autocast_dtype,
    )
    data = {
        "device": device,
        "autocast": autocast_dtype,
        "train_enc": encode_batch(tokenizer, [r.text for r in train_set]),
        "val_enc": encode_batch(tokenizer, [r.text for r in validation]),
        "train_labels": [r.label for r in train_set],
        "val_labels": [r.label for r in validation],
    }
    seeds = [train_seed(seed, data, force) for seed in SEEDS]
    chosen = max(seeds, key=lambda s: s["best_validation_accuracy"])  # selection by validation, never test
    best = settings.TRAINED_DIR / "best"
    shutil.rmtree(best, ignore_errors=True)
    shutil.copytree(settings.TRAINED_DIR / f"seed-{chosen['seed']}" / "best", best)

    report = {
        "recipe": recipe(),
        "examples": len(train_set),
        "validation_examples": len(validation),
        **{k: v for k, v in recipe().items() if k not in ("seeds", "start")},
        "start": json.loads((settings.PRETRAINED_DIR / "pretrain_report.json").read_text())["stage"],
        "device": str(device),
        "autocast": str(autocast_dtype),
        "threads": torch.get_num_threads(),
        "split_seed": settings.SEED,
        "seeds": {str(s["seed"]): {k: v for k, v in s.items() if k != "recipe"} for s in seeds},
        "chosen_seed": chosen["seed"],
        "best_validation_accuracy": chosen["best_validation_accuracy"],
    }
    done_marker.write_text(json.dumps(report, indent=2))
    log.info(
        "train: seed %d chosen, validation accuracy %.4f", chosen["seed"], chosen["best_validation_accuracy"]
    )
    return settings.TRAINED_DIR

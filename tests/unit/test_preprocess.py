from __future__ import annotations

import pytest
from tokenizers import Tokenizer

import model_export.quantize
import model_export.train
from model_export.modeling import load_base_tokenizer
from sentiment_core import preprocess, settings
from sentiment_core.preprocess import (
    HEAD_TOKENS,
    MAX_LENGTH,
    TAIL_TOKENS,
    clean_text,
    encode_batch,
    pad_batch,
    prepare_tokenizer,
)

SAMPLES = [
    "Great film.<br /><br />Loved   it!",
    "word " * 600,
    "  \t A  <BR/>mess<br>of a movie\n\n",
    "Ünïcödé and emoji 🎬 and <b>tags</b>",
]


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("a<br />b", "a b"),
        ("a<br/><BR>b", "a b"),
        ("  many \n\t spaces  ", "many spaces"),
        ("<br /> ", ""),
    ],
)
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


def test_training_and_serving_share_one_preprocessing():
    assert model_export.train.encode_batch is preprocess.encode_batch
    assert model_export.quantize.encode_batch is preprocess.encode_batch
    training = encode_batch(load_base_tokenizer(), SAMPLES)
    serving = encode_batch(
        prepare_tokenizer(Tokenizer.from_file(str(settings.current().model_dir / "tokenizer.json"))), SAMPLES
    )  # the committed artifact's tokenizer
    assert training == serving


def test_head_tail_truncation_keeps_both_ends():
    tokenizer = load_base_tokenizer()
    text = "opening " + "middle " * 1000 + "ending"
    (enc,) = encode_batch(tokenizer, [text])
    assert enc.truncated and enc.n_tokens == 1002
    assert len(enc.ids) == MAX_LENGTH == HEAD_TOKENS + TAIL_TOKENS + 2
    assert tokenizer.decode(enc.ids[1:2]) == "opening"
    assert tokenizer.decode(enc.ids[-2:-1]) == "ending"
    assert enc.ids[0] == tokenizer.token_to_id("[CLS]") and enc.ids[-1] == tokenizer.token_to_id("[SEP]")


def test_short_text_is_not_truncated_or_padded():
    (enc,) = encode_batch(load_base_tokenizer(), ["short review"])
    assert not enc.truncated and len(enc.ids) == 4


def test_pad_batch_pads_to_longest():
    encoded = encode_batch(load_base_tokenizer(), ["a", "a much longer review than that"])
    ids, mask = pad_batch(encoded)
    assert ids.shape == mask.shape == (2, len(encoded[1].ids))
    assert mask[0].sum() == len(encoded[0].ids) and (ids[0, mask[0] == 0] == 0).all()

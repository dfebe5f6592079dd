"""Explanations from the committed model: the deciding sentence, long reviews, thread counts, the example."""

from __future__ import annotations

import csv
import functools
import io
import json

from functions.api import examples
from model_export import settings as pipeline_settings
from sentiment_cli import cli
from sentiment_core import settings
from sentiment_core.explain import CSV_COLUMNS, MAX_SPANS, explain
from sentiment_core.model import SentimentModel
from tests.helpers import api_request

DULL = "I saw this film on a Tuesday afternoon with my brother."
GLOWING = "It is one of the most wonderful, moving and beautifully acted films I have ever seen."
ASIDE = "The cinema was about half full."
REVIEW = f"{DULL}<br /><br />{GLOWING}  {ASIDE}"


@functools.cache
def model(threads: int) -> SentimentModel:
    return SentimentModel(settings.current().model_dir, threads=threads)


@functools.cache
def transformer_alone() -> SentimentModel:
    """Model 1.1.0, the transformer without the blend: it reads the head and tail of a long review."""
    return SentimentModel(pipeline_settings.TRANSFORMER_DIR, threads=1)


def test_the_glowing_sentence_decides_the_review():
    (explanation,) = explain(model(1), [REVIEW])
    assert explanation.prediction.label == "positive"
    assert [REVIEW[s.start : s.end] for s in explanation.sentences] == [DULL, GLOWING, ASIDE]
    top = max(explanation.sentences, key=lambda s: s.contribution)
    assert REVIEW[top.start : top.end] == GLOWING
    assert top.contribution > 0.2 and top.label == "positive" and top.score > 0.9
    assert all(s.read for s in explanation.sentences)
    # The same review scored plainly gets exactly the explained prediction.
    assert model(1).predict([REVIEW])[0] == explanation.prediction


SCENES = [f"Scene {i} of the film shows the town at night and its people." for i in range(40)]
LONG_REVIEW = " ".join(["A superb, moving film.", *SCENES, "An awful, boring ending."])


def test_42_sentences_become_16_spans_all_read_by_the_blend():
    (explanation,) = explain(model(1), [LONG_REVIEW])
    assert model(1).blend is not None and model(1).unread_range(LONG_REVIEW) is None
    assert explanation.prediction.truncated  # the transformer's view; the linear part reads it all
    assert len(explanation.sentences) == MAX_SPANS
    assert explanation.sentences[0].start == 0 and explanation.sentences[-1].end == len(LONG_REVIEW)
    assert all(s.read and s.contribution is not None for s in explanation.sentences)
    first, last = explanation.sentences[0], explanation.sentences[-1]
    assert first.contribution > 0 > last.contribution


def test_the_transformer_alone_does_not_read_a_long_middle():
    alone = transformer_alone()
    assert alone.blend is None
    start, end = alone.unread_range(LONG_REVIEW)
    assert 0 < start < end < len(LONG_REVIEW)
    (explanation,) = explain(alone, [LONG_REVIEW])
    unread = [s for s in explanation.sentences if not s.read]
    assert unread and all(s.contribution is None and start <= s.start and s.end <= end for s in unread)
    first, last = explanation.sentences[0], explanation.sentences[-1]
    assert first.read and last.read and first.contribution > 0 > last.contribution


def test_the_same_explanation_on_1_and_2_threads_and_in_any_company():
    long_review = " ".join(f"Part {i} is good, part {i + 1} is dull." for i in range(30))
    alone = explain(model(1), [REVIEW])
    together = explain(model(2), [long_review, REVIEW, "Fine."])
    assert together[1] == alone[0]
    assert explain(model(1), [long_review]) == together[:1]


def test_the_api_example_is_what_the_model_answers():
    assert examples.answer(model(1)) == examples.EXPLAINED_RESPONSE, (
        "regenerate functions/api/examples.py with: python -m functions.api.examples"
    )


def test_the_api_explains_as_the_core_does(api):
    status, body = api_request(api, "POST", "/predict", {"text": REVIEW, "explain": True})
    (explanation,) = explain(model(1), [REVIEW])
    assert status == 200
    sentences = body["predictions"][0]["sentences"]
    assert [(s["start"], s["end"]) for s in sentences] == [(s.start, s.end) for s in explanation.sentences]
    assert [s["contribution"] for s in sentences] == [round(s.contribution, 6) for s in explanation.sentences]


def test_the_cli_explains_texts_as_the_api_does(capsys, api):
    assert cli.main(["--explain", "--no-progress", REVIEW]) == 0
    line = json.loads(capsys.readouterr().out)
    _, body = api_request(api, "POST", "/predict", {"text": REVIEW, "explain": True})
    assert line == body["predictions"][0]


def test_the_cli_explains_a_csv_with_the_top_sentences(tmp_path, capsys):
    source = tmp_path / "why.csv"
    source.write_text(f'id,review\n1,"{REVIEW}"\n2,\n')
    assert cli.main(["--explain", "--no-progress", str(source), "-o", str(tmp_path / "out.csv")]) == 0
    header, first, empty = csv.reader(io.StringIO((tmp_path / "out.csv").read_text(), newline=""))
    assert header[-4:] == list(CSV_COLUMNS)
    assert first[5] == GLOWING and float(first[6]) > 0.2
    assert empty[4] == "empty text" and empty[5:] == ["", "", "", ""]


def test_the_cli_gives_an_explained_csv_as_json_lines_with_numbers(tmp_path, capsys):
    source = tmp_path / "why.csv"
    source.write_text(f'id,review\n1,"{REVIEW}"\n')
    assert cli.main(["--explain", "--no-progress", str(source), "-f", "jsonl", "-o", "-"]) == 0
    record = json.loads(capsys.readouterr().out.splitlines()[0])
    assert record["top_positive_sentence"] == GLOWING and record["top_positive_contribution"] > 0.2

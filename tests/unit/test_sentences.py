"""Sentence spans of IMDB-like reviews: where they break, where they must not, that they slice the text."""

from __future__ import annotations

import itertools

import pytest

from sentiment_core.explain import MAX_SPANS, spans
from sentiment_core.preprocess import HEAD_TOKENS, clean_text
from sentiment_core.sentences import split


def sentences(text: str) -> list[str]:
    found = split(text)
    for start, end in found:  # every span is a trimmed slice of the text as sent, in order
        assert text[start:end] == text[start:end].strip() and text[start:end]
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(found))
    return [text[start:end] for start, end in found]


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "Great cast.<br /><br />Terrible script!<br/>I left early",
            ["Great cast.", "Terrible script!", "I left early"],
        ),
        ("No stop at all<br /><br />then a new line", ["No stop at all", "then a new line"]),
        ("It was... fine, I guess. Then... Nothing.", ["It was... fine, I guess.", "Then...", "Nothing."]),
        ("So . . . it goes. Next one.", ["So . . . it goes.", "Next one."]),
        (
            'He said "Run!" and ran. "Why?" she asked. Odd.',
            ['He said "Run!" and ran.', '"Why?" she asked.', "Odd."],
        ),
        ('"It is a masterpiece." I disagree.', ['"It is a masterpiece."', "I disagree."]),
        (
            "Mr. Smith and Dr. Jones met Mrs. Brown. Fine.",
            ["Mr. Smith and Dr. Jones met Mrs. Brown.", "Fine."],
        ),
        (
            "Directed by J. R. Bloggs in the U.S. in 1999. Good.",
            ["Directed by J. R. Bloggs in the U.S. in 1999.", "Good."],
        ),
        ("I give it 7/10. Worth it.", ["I give it 7/10.", "Worth it."]),
        ("It scores 8.5 out of 10. Really.", ["It scores 8.5 out of 10.", "Really."]),
        ("Guns, cars, etc. The end.", ["Guns, cars, etc.", "The end."]),
        ("A Warner Bros. cartoon. Fun.", ["A Warner Bros. cartoon.", "Fun."]),
        ("What a waste!!! Avoid it?! Yes.", ["What a waste!!!", "Avoid it?!", "Yes."]),
        ("(He is great!) and so is she.", ["(He is great!) and so is she."]),
        ("The film ended.The credits rolled.", ["The film ended.", "The credits rolled."]),
        ("  Spaces around.   ", ["Spaces around."]),
        ("<br /><br />", []),
    ],
)
def test_imdb_sentences(text, expected):
    assert sentences(text) == expected


def test_spans_slice_the_raw_text_whatever_its_whitespace_and_breaks():
    text = "First  one.\n\tSecond<BR>one here!  <br />  Third? Yes\u2026"
    assert sentences(text) == ["First  one.", "Second", "one here!", "Third?", "Yes\u2026"]


def test_more_than_16_sentences_become_16_runs_of_adjacent_sentences():
    text = " ".join(f"Sentence {i}." for i in range(42))
    runs = spans(text)
    assert len(runs) == MAX_SPANS
    assert runs[0][0] == 0 and runs[-1][1] == len(text)
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(runs))  # nothing skipped
    sizes = [text[s:e].count("Sentence") for s, e in runs]
    assert sum(sizes) == 42 and set(sizes) == {2, 3}


def test_clean_text_and_the_offset_preserving_clean_agree():
    """unread_range rebuilds clean_text's output from runs of the raw text: the two must be equal."""
    from sentiment_core.preprocess import _BR_TAG, _NON_SPACE

    for text in ["a<br />b", "  x\u2003y\n\nz  ", "<br/><br />Lead.<BR>Tail\u00a0end", "\x1cfoo\x1dbar\x1e"]:
        runs = [m.span() for m in _NON_SPACE.finditer(_BR_TAG.sub(lambda m: " " * len(m.group()), text))]
        assert " ".join(text[s:e] for s, e in runs) == clean_text(text)
    assert HEAD_TOKENS == 128

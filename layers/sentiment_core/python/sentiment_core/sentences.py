"""Sentences of a review as (start, end) character spans of the text as sent.

A plain rule, measured against pysbd and sentencex on IMDB reviews (benchmarks/sentence_splitters.py,
docs/explanations.md): it breaks at HTML line breaks and after . ! ? (with any closing quotes or
brackets) followed by a space, except after a title or a common abbreviation ("Mr.", "vs."), a single
initial ("J. Smith"), or an ellipsis or full stop followed by a word in lower case ("so... it goes").
Ratings ("7/10") and decimals ("8.5") hold no space after the stop, so they never break.
"""

from __future__ import annotations

import re

Span = tuple[int, int]

_BREAK = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
# An end mark (and whatever quotes or brackets close the sentence), then the space that ends it.
# A missing space ends one too where a capitalised word follows a word ("the film.The end").
_END = re.compile(
    r"""(?:[.!?]+(?: ?\.)+|\u2026|[.!?]+)["'\u201d\u2019)\]]*(?=\s)|(?<=[a-z])(?:[.!?]+|\u2026)(?=[A-Z])"""
)
_WORD_BEFORE = re.compile(r"(?<![\w'\u2019])([A-Za-z]+)\.$")
# Words that a full stop follows without ending the sentence: titles, abbreviations, months.
_ABBREVIATIONS = (
    "mr mrs ms dr prof st jr sr vs mt no vol ft col gen lt sgt capt rev feat approx ie eg "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
_NOT_ENDINGS = frozenset(_ABBREVIATIONS.split())
_ENDINGS_BEFORE_CAPITALS = frozenset({"etc", "inc", "ltd", "co", "bros"})


_NEXT_LETTER = re.compile(r"""\s*["'\u201c\u2018(\[]*(\S)""")


def _next_starts_sentence(text: str, position: int) -> bool:
    """A capital or a digit comes next, after any opening quotes or brackets."""
    match = _NEXT_LETTER.match(text, position)
    return bool(match) and (match.group(1).isupper() or match.group(1).isdigit())


def _is_initial(word: str, text: str, start: int) -> bool:
    """ "J. Smith", "U.S.", "e.g.": one letter, a capital (not "I") or one after another stop."""
    return len(word) == 1 and ((word.isupper() and word != "I") or text[start - 2 : start - 1] == ".")


def _ends_sentence(text: str, start: int, mark: str, end: int) -> bool:
    word = _WORD_BEFORE.search(text, max(0, start - 24), start + 1) if mark == "." else None
    if word:
        lowered = word.group(1).lower()
        if lowered in _NOT_ENDINGS or _is_initial(word.group(1), text, start):
            return False
        if lowered in _ENDINGS_BEFORE_CAPITALS:  # "..., etc. The next" but "Warner Bros. cartoons"
            return _next_starts_sentence(text, end)
    # "so... it goes", "so . . . it goes", "(as in Sabu!) and", "the "What the...?" looks": it goes on.
    if mark.count(".") > 1 or mark[0] == "\u2026" or mark[-1] in "\"')]\u201d\u2019":
        return _next_starts_sentence(text, end)
    return True


def _trimmed(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def split(text: str) -> list[Span]:
    """Sentence spans in order; text[start:end] is each sentence, trimmed, without line-break tags."""
    spans: list[Span] = []
    cursor = 0
    for block_start, block_end in _blocks(text):
        cursor = block_start
        for match in _END.finditer(text, block_start, block_end):
            if _ends_sentence(text, match.start(), match.group(), match.end()):
                span = _trimmed(text, cursor, match.end())
                if span:
                    spans.append(span)
                cursor = match.end()
        span = _trimmed(text, cursor, block_end)
        if span:
            spans.append(span)
    return spans


def _blocks(text: str) -> list[Span]:
    """The text between HTML line breaks: a line break always ends a sentence."""
    blocks, cursor = [], 0
    for match in _BREAK.finditer(text):
        blocks.append((cursor, match.start()))
        cursor = match.end()
    blocks.append((cursor, len(text)))
    return blocks

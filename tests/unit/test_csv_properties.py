"""Property tests of the CSV path: any table in comes out row for row; any bytes in never crash it."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentiment_core.csv_scoring import NotScorable, score_csv
from tests.fakes import FakeModel

cells = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)
tables = st.lists(st.tuples(cells, cells), min_size=0, max_size=25)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    rows=tables,
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    bom=st.booleans(),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_any_table_comes_back_row_for_row(rows, delimiter, bom, newline):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline, quoting=csv.QUOTE_ALL)
    writer.writerow(["note", "text"])
    writer.writerows(rows)
    data = ("\ufeff" if bom else "") + buffer.getvalue()
    out = io.BytesIO()
    summary = score_csv(io.BytesIO(data.encode()), out, FakeModel())
    parsed = list(
        csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"), newline=""), delimiter=delimiter)
    )
    assert parsed[0] == ["note", "text", "label", "score", "error"]
    body = parsed[1:]
    # csv.reader reads a row of two empty quoted cells as ["", ""]: every input row is there, in order
    assert len(body) == len(rows) == summary.rows
    for (note, text), row in zip(rows, body, strict=True):
        assert row[:2] == [note, text]
        assert (row[2] in ("positive", "negative")) != bool(row[4])  # a label or an error, never both
    assert summary.scored + summary.rows_with_errors == summary.rows


@SETTINGS
@given(data=st.binary(max_size=400))
def test_any_bytes_give_a_scored_file_or_a_clear_error(data):
    out = io.BytesIO()
    try:
        summary = score_csv(io.BytesIO(data), out, FakeModel())
    except NotScorable as problem:
        assert str(problem)
        return
    text = out.getvalue().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=summary.delimiter))
    assert lines[0][-3:] == ["label", "score", "error"]
    assert len(lines) - 1 == summary.rows  # one output row per input row

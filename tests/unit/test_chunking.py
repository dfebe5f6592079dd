"""The fan-out's chunks, scored alone and joined in order, are the file the single invocation writes."""

from __future__ import annotations

import csv
import io
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentiment_core.chunking import Layout, plan_chunks, score_chunk
from sentiment_core.csv_scoring import NotScorable, score_csv
from sentiment_core.model import Prediction

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class TextHashModel:
    """A scorer whose answer depends on the text alone: any difference in output is the chunking's."""

    name, version = "text-hash", "1"

    def predict(self, texts: list[str]) -> list[Prediction]:
        out = []
        for text in texts:
            h = zlib.crc32(text.encode("utf-8", "surrogatepass"))
            score = (h % 10_000) / 10_000
            label = "positive" if h % 2 else "negative"
            out.append(Prediction(label=label, score=score, probabilities={}, truncated=False, tokens=0))
        return out


def fan_out(data: bytes, chunk_rows: int, model) -> bytes:
    layout, chunks = plan_chunks(io.BytesIO(data), chunk_rows)
    parts = [layout.output_header()]
    for chunk in chunks:
        assert chunk.rows <= chunk_rows
        sink = io.BytesIO()
        score_chunk(io.BytesIO(data[chunk.start : chunk.end]), sink, model, layout, chunk.first_row)
        parts.append(sink.getvalue())
    return b"".join(parts)


def single(data: bytes, model) -> bytes:
    sink = io.BytesIO()
    score_csv(io.BytesIO(data), sink, model)
    return sink.getvalue()


# Cells that stress a row-boundary finder: delimiters, quotes and every kind of newline inside fields.
cells = st.text(
    alphabet=st.sampled_from([*list("ab ,;|\t\"\r\n'é😀"), "\u200b"]),
    max_size=12,
)
row_shapes = st.lists(cells, min_size=1, max_size=4)


@st.composite
def messy_csvs(draw) -> bytes:
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline, quoting=quoting)
    writer.writerow(["id", "text", "note"])
    for row in draw(st.lists(row_shapes, max_size=20)):
        writer.writerow(row)  # 1 to 4 fields: some rows are short or long, which is their own error
    text = buffer.getvalue()
    if draw(st.booleans()):
        text += newline  # a trailing empty line
    body = text.encode()
    if draw(st.booleans()):  # an invalid UTF-8 byte somewhere after the header
        at = draw(st.integers(min_value=body.index(b"\n") + 1, max_value=len(body)))
        body = body[:at] + b"\xff" + body[at:]
    return (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + body


@SETTINGS
@given(data=messy_csvs(), fraction=st.floats(min_value=0, max_value=1))
def test_chunks_joined_are_byte_identical_to_the_single_path(data, fraction):
    model = TextHashModel()
    try:
        expected = single(data, model)
    except NotScorable as problem:
        with pytest.raises(NotScorable) as raised:
            plan_chunks(io.BytesIO(data), 1)
        assert str(raised.value).split(":")[0] == str(problem).split(":")[0]
        return
    rows = max(1, sum(c.rows for c in plan_chunks(io.BytesIO(data), 10**9)[1]))
    chunk_rows = 1 + int(fraction * rows)  # from one row a chunk to the whole file in one
    assert fan_out(data, chunk_rows, model) == expected


def _rows(data: bytes, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def test_chunk_offsets_fall_on_row_boundaries_with_quoted_newlines():
    data = b'\xef\xbb\xbfid;text\r\n1;"a;\r\nb"\r\n2;"c""\nd"\r\n3;e\r\n'
    layout, chunks = plan_chunks(io.BytesIO(data), 2)
    assert layout == Layout(delimiter=";", header=["id", "text"], column=1, has_bom=True)
    assert [(c.first_row, c.rows) for c in chunks] == [(0, 2), (2, 1)]
    assert data[chunks[0].start : chunks[0].end] == b'1;"a;\r\nb"\r\n2;"c""\nd"\r\n'
    assert data[chunks[1].start : chunks[1].end] == b"3;e\r\n"


def test_a_header_only_file_has_no_chunks_and_a_one_row_file_one():
    assert plan_chunks(io.BytesIO(b"text\n"), 5)[1] == []
    (chunk,) = plan_chunks(io.BytesIO(b"text\ngood film\n"), 5)[1]
    assert (chunk.start, chunk.end, chunk.rows) == (5, 15, 1)


def test_a_cr_split_from_its_lf_by_a_read_block_is_one_line_end(monkeypatch):
    import sentiment_core.chunking as chunking

    monkeypatch.setattr(chunking, "READ_BLOCK", 3)
    data = b"text\r\nab\r\ncd\r\n"
    _, chunks = plan_chunks(io.BytesIO(data), 1)
    assert [data[c.start : c.end] for c in chunks] == [b"ab\r\n", b"cd\r\n"]


def test_files_the_single_path_rejects_are_rejected_for_the_same_reason():
    for data in (b"", b"\x1f\x8b\x08", b"name,score\nx,1\n"):
        with pytest.raises(NotScorable) as single_reason:
            score_csv(io.BytesIO(data), io.BytesIO(), TextHashModel())
        with pytest.raises(NotScorable) as fanout_reason:
            plan_chunks(io.BytesIO(data), 10)
        assert str(fanout_reason.value) == str(single_reason.value)

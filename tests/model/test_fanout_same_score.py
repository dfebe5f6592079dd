"""The CSV fan-out on the real model: chunk by chunk, the scored file equals the single-path one, scores
included, since a review's score depends on its text alone (not on the reviews of its chunk)."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentiment_core.chunking import plan_chunks
from sentiment_core.csv_scoring import NotScorable
from sentiment_core.model import get_model
from tests.unit.test_chunking import _rows, fan_out, messy_csvs, single


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=messy_csvs(), chunk_rows=st.integers(min_value=1, max_value=25))
def test_fan_out_output_equals_the_single_path_output(data, chunk_rows):
    model = get_model()
    try:
        expected = single(data, model)
    except NotScorable:
        return
    layout, _ = plan_chunks(io.BytesIO(data), chunk_rows)
    assert _rows(fan_out(data, chunk_rows, model), layout.delimiter) == _rows(expected, layout.delimiter)

"""Every scored row has exactly the header's fields: what to do with a row that has more or fewer.

A spreadsheet shifts every column of a row with a cell too many, so no row leaves ragged. In a
one-column file a delimiter inside an unquoted text is part of the text, not a new field: the
whole line is the text. Elsewhere a long row's surplus is joined into its last cell and a short
row is padded with empty cells; either way the row keeps an error saying so, and nothing is lost.
"""

from __future__ import annotations


def fit(row: list[str], width: int, delimiter: str) -> tuple[list[str], str]:
    """(exactly `width` cells, the shape error or ""). A blank row is padded without an error here:
    the row checks call it an empty row."""
    n = len(row)
    if n == width or (width == 1 and n > 1):
        return ([delimiter.join(row)] if n > width else row), ""
    if not any(cell.strip() for cell in row):
        return [""] * width, ""
    if n > width:
        joined = [*row[: width - 1], delimiter.join(row[width - 1 :])]
        return joined, (
            f"row has {n} fields, the header has {width}: "
            f"the last {n - width + 1} are joined into the last column"
        )
    missing = width - n
    return row + [""] * missing, (
        f"row has {n} fields, the header has {width}: padded with {missing} empty "
        f"field{'s' if missing > 1 else ''}"
    )

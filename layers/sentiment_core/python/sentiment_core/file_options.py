"""What an uploaded CSV may ask of the scorer, and how: S3 object metadata (x-amz-meta-<name>), which the
upload form sets, or, for tools that cannot set metadata, a folder in its key. Read by the fast path and
the fan-out alike (docs/batch.md)."""

from __future__ import annotations

TEXT_COLUMN_METADATA = "text-column"  # the text column, when it is not `text` or `review`
GROUP_COLUMN_METADATA = "group-column"  # the column the report groups by
EXPLAIN_METADATA = "explain"  # "true": each row gains its top sentences
EXPLAIN_FOLDER = "explain"  # incoming/explain/<name>.csv asks for the same


def explain_requested(metadata: dict[str, str], key: str) -> bool:
    """Whether the file asks for explanations, by its metadata or by an `explain` folder in its key."""
    flagged = metadata.get(EXPLAIN_METADATA, "").strip().lower() == "true"
    return flagged or EXPLAIN_FOLDER in key.split("/")[:-1]

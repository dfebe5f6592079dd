"""Request and response shapes of the upload routes (POST /files, GET /files/{file_id})."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

MAX_NAME_CHARS = 120
# Letters, digits and a few separators: the name becomes part of an S3 key, a URL and a download's
# file name, and S3 event keys are URL-encoded ('+' would read back as a space).
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._() -]*")
EXTENSIONS = (".csv.gz", ".csv")  # the start rules match these, lower case (templates/csv-files.yaml)
CONTENT_TYPES = {".csv": "text/csv", ".csv.gz": "application/gzip"}
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")  # S3 user metadata travels in HTTP headers
# What the validators accept, written for the OpenAPI document (ECMA regex: no flags, so both cases).
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._() -]*\.[cC][sS][vV](\.[gG][zZ])?$"
GROUP_COLUMN_PATTERN = r"^[!-~]([ -~]*[!-~])?$"


def _file_name(name: str) -> str:
    extension = next((e for e in EXTENSIONS if name.lower().endswith(e)), None)
    if extension is None:
        raise ValueError("the file name must end in .csv or .csv.gz")
    stem = name[: -len(extension)]
    if not _NAME.fullmatch(stem):
        raise ValueError(
            "the file name may hold only letters, digits, spaces and . _ - ( ), "
            "starting with a letter or digit"
        )
    return stem + extension  # the extension in lower case, as the start rules match it


def _group_column(name: str) -> str:
    if not _PRINTABLE_ASCII.fullmatch(name):
        raise ValueError("the group column's name must be printable ASCII")
    if name != name.strip():
        raise ValueError("the group column's name must not start or end with a space")
    return name


FileName = Annotated[
    str,
    StringConstraints(min_length=5, max_length=MAX_NAME_CHARS),
    AfterValidator(_file_name),
    Field(
        description="The file's name, e.g. reviews.csv: .csv or .csv.gz; letters, digits, spaces, ._-()",
        json_schema_extra={"pattern": NAME_PATTERN},
    ),
]

GroupColumn = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(_group_column),
    Field(json_schema_extra={"pattern": GROUP_COLUMN_PATTERN}),
]


class FileUploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: FileName
    group_column: GroupColumn | None = Field(
        None, description="A column to break the figures down by (e.g. movie); detected when absent."
    )
    explain: bool = Field(
        False,
        strict=True,
        description="Also give each row its most positive and most negative sentence with their "
        "contributions, and the report's top reviews their key sentence. A row then costs its "
        "sentences + 2 passes (at most 18).",
    )

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[".csv.gz" if self.name.endswith(".csv.gz") else ".csv"]


class UploadForm(BaseModel):
    url: str = Field(description="POST a multipart form here: every field below, then the file as `file`.")
    fields: dict[str, str] = Field(description="Form fields, sent as given and before the file.")


class FileUpload(BaseModel):
    file_id: str
    name: str
    upload: UploadForm
    content_type: str = Field(description="The Content-Type the upload must declare (it is in the fields).")
    max_bytes: int = Field(description="The largest file the upload accepts.")
    expires_at: str = Field(description="UTC time after which the upload form is refused.")


class FileProgress(BaseModel):
    rows_done: int | None = None
    rows_total: int | None = None
    chunks_done: int | None = None
    chunks_total: int | None = None


class FileLinks(BaseModel):
    csv: str = Field(description="The scored CSV: the file's rows plus label, score, error.")
    report: str | None = Field(None, description="The HTML report, when one was written.")
    expires_at: str = Field(description="UTC time after which these links stop working; ask again for more.")


class FileStatus(BaseModel):
    file_id: str
    name: str
    state: Literal["waiting", "scoring", "done", "failed", "rejected"] = Field(
        description="waiting: no file yet; scoring; done (summary and links); failed or rejected (error)."
    )
    progress: FileProgress | None = None
    summary: dict[str, Any] | None = Field(None, description="The file's summary.json, figures included.")
    error: str | None = None
    limit: dict[str, Any] | None = Field(None, description="For a rejected file: the limit it went over.")
    links: FileLinks | None = None

"""Request and response shapes shared by the HTTP API, the job worker and the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from sentiment_core.preprocess import VISIBLE_CHARACTER, has_visible_text

MAX_TEXT_CHARS = 20_000
MAX_TEXTS_PER_PREDICT = 64
MAX_TEXTS_PER_JOB = 1_000


def _visible(text: str) -> str:
    if not has_visible_text(text):
        raise ValueError("String should have at least 1 visible character")
    return text


ReviewText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT_CHARS),
    AfterValidator(_visible),
    Field(
        description=f"A review: 1 to {MAX_TEXT_CHARS:,} characters after trimming whitespace, "
        "not only control or zero-width characters.",
        json_schema_extra={"pattern": VISIBLE_CHARACTER},
    ),
]


def _exactly_one_field(schema: dict) -> None:
    """The document says what the validator enforces: exactly one of `text` and `texts`, never null."""
    for name in ("text", "texts"):
        prop = schema["properties"][name]
        prop["anyOf"] = [s for s in prop["anyOf"] if s.get("type") != "null"]
        prop.pop("default", None)
    schema["minProperties"] = schema["maxProperties"] = 1


class _TextsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_exactly_one_field)

    text: ReviewText | None = Field(None, description="One review. Give `text` or `texts`, not both.")

    @model_validator(mode="after")
    def _exactly_one(self):
        if (self.text is None) == (self.texts is None):
            raise ValueError("give exactly one of 'text' (a string) or 'texts' (a list of strings)")
        return self

    def all_texts(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class PredictRequest(_TextsRequest):
    texts: list[ReviewText] | None = Field(
        None,
        min_length=1,
        max_length=MAX_TEXTS_PER_PREDICT,
        description=f"1 to {MAX_TEXTS_PER_PREDICT} reviews, answered in the same order.",
    )


class JobRequest(_TextsRequest):
    texts: list[ReviewText] | None = Field(
        None,
        min_length=1,
        max_length=MAX_TEXTS_PER_JOB,
        description=f"1 to {MAX_TEXTS_PER_JOB:,} reviews, scored asynchronously.",
    )


class Probabilities(BaseModel):
    positive: float
    negative: float


class PredictionOut(BaseModel):
    label: Literal["positive", "negative"]
    score: float = Field(description="Probability of the predicted label.")
    probabilities: Probabilities
    truncated: bool = Field(
        description="True when the review was longer than the model reads (head+tail kept)."
    )


class ModelInfo(BaseModel):
    name: str
    version: str


class PredictResponse(BaseModel):
    model: ModelInfo
    predictions: list[PredictionOut]


class RegistryEntry(BaseModel):
    uri: str = Field(description="s3://<bucket>/models/<name>/<version>/ the artifact was fetched from.")
    version: str
    manifest_sha256: str
    approved: bool = Field(description="Fetched as the approved version (models/<name>/approved.json).")


class HealthResponse(BaseModel):
    status: Literal["ok"]
    model: ModelInfo
    sha256: str = Field(description="sha256 of the served model.onnx.")
    manifest_sha256: str = Field(description="sha256 of the artifact's manifest.json: its registry identity.")
    registry: RegistryEntry | None = Field(
        description="The registry entry the image was built from; null when built from the repo's copy."
    )


class ErrorDetail(BaseModel):
    field: str
    problem: str


class ErrorResponse(BaseModel):
    error: str
    details: list[ErrorDetail] = []
    request_id: str | None = None


class JobAccepted(BaseModel):
    job_id: str
    status: Literal["queued"]


class JobStatus(BaseModel):
    job_id: str
    status: Literal["queued", "done", "failed"]
    model: ModelInfo | None = None
    predictions: list[PredictionOut] | None = None
    reason: str | None = None

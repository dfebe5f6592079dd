"""Request and response shapes shared by the HTTP API, the job worker and the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

MAX_TEXT_CHARS = 20_000
MAX_TEXTS_PER_PREDICT = 64
MAX_TEXTS_PER_JOB = 1_000

ReviewText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT_CHARS),
    Field(description=f"A review: 1 to {MAX_TEXT_CHARS:,} characters after trimming whitespace."),
]


class _TextsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

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


class HealthResponse(BaseModel):
    status: Literal["ok"]
    model: ModelInfo
    sha256: str


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

"""Request and response shapes shared by the HTTP API, the job worker and the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from sentiment_core.preprocess import VISIBLE_CHARACTER, has_visible_text

MAX_TEXT_CHARS = 20_000
MAX_TEXTS_PER_PREDICT = 64
MAX_TEXTS_PER_JOB = 1_000
# Explaining a review costs its spans + 2 passes (explain.py): up to 18 times a plain prediction.
MAX_TEXTS_PER_EXPLAINED_PREDICT = 8
MAX_TEXTS_PER_EXPLAINED_JOB = 100


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


def _exactly_one_field(schema: dict, cls: type) -> None:
    """The document says what the validator enforces: exactly one of `text` and `texts`, never null,
    and at most `explained_limit` texts with `explain` (so a generated valid request is a valid one)."""
    for name in ("text", "texts"):
        prop = schema["properties"][name]
        prop["anyOf"] = [s for s in prop["anyOf"] if s.get("type") != "null"]
        prop.pop("default", None)
    schema["oneOf"] = [{"required": ["text"]}, {"required": ["texts"]}]
    schema["anyOf"] = [
        {"properties": {"explain": {"const": False}}},
        {"properties": {"texts": {"maxItems": cls.explained_limit}}},
    ]


def _is_none(value: object) -> bool:
    return value is None


class _TextsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_exactly_one_field)

    text: ReviewText | None = Field(None, description="One review. Give `text` or `texts`, not both.")
    explain: bool = Field(
        False,
        strict=True,
        description="Also score each sentence and its contribution (`sentences` in each prediction). "
        "It costs the review's sentences + 2 passes (at most 18), so fewer texts are taken.",
    )
    explained_limit: ClassVar[int]  # texts a request may give with `explain`

    @model_validator(mode="after")
    def _exactly_one(self):
        if (self.text is None) == (self.texts is None):
            raise ValueError("give exactly one of 'text' (a string) or 'texts' (a list of strings)")
        if self.explain and len(self.all_texts()) > self.explained_limit:
            raise ValueError(f"with 'explain', give at most {self.explained_limit} texts")
        return self

    def all_texts(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class PredictRequest(_TextsRequest):
    texts: list[ReviewText] | None = Field(
        None,
        min_length=1,
        max_length=MAX_TEXTS_PER_PREDICT,
        description=f"1 to {MAX_TEXTS_PER_PREDICT} reviews, answered in the same order "
        f"({MAX_TEXTS_PER_EXPLAINED_PREDICT} with `explain`).",
    )
    explained_limit = MAX_TEXTS_PER_EXPLAINED_PREDICT


class JobRequest(_TextsRequest):
    texts: list[ReviewText] | None = Field(
        None,
        min_length=1,
        max_length=MAX_TEXTS_PER_JOB,
        description=f"1 to {MAX_TEXTS_PER_JOB:,} reviews ({MAX_TEXTS_PER_EXPLAINED_JOB} with `explain`), "
        "scored asynchronously.",
    )
    explained_limit = MAX_TEXTS_PER_EXPLAINED_JOB


class Probabilities(BaseModel):
    positive: float
    negative: float


class SentenceOut(BaseModel):
    start: int = Field(description="Offset of the sentence's first character in the text as sent.")
    end: int = Field(description="Offset past its last character: text[start:end] is the sentence.")
    label: Literal["positive", "negative"] = Field(description="The sentence's own sentiment, scored alone.")
    score: float = Field(description="Probability of that label for the sentence alone.")
    contribution: float | None = Field(
        description="P(positive | review) - P(positive | review without this sentence): above 0 it pushed "
        "the review toward positive. null when the model does not read the sentence."
    )
    read: bool = Field(
        description="False for a sentence inside the middle of a long review that the model does not read."
    )


class PredictionOut(BaseModel):
    label: Literal["positive", "negative"]
    score: float = Field(description="Probability of the predicted label.")
    probabilities: Probabilities
    truncated: bool = Field(
        description="True when the review was longer than the model reads (head+tail kept)."
    )
    sentences: list[SentenceOut] | None = Field(
        None,
        exclude_if=_is_none,
        description="With `explain` only: the review's sentences in order (more than 16 are grouped into "
        "16 runs of adjacent sentences).",
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
    model: ModelInfo | None = Field(None, exclude_if=_is_none)
    predictions: list[PredictionOut] | None = Field(None, exclude_if=_is_none)
    reason: str | None = Field(None, exclude_if=_is_none)

"""The HTTP API: POST /predict, GET /health, GET /openapi.json, GET /docs (docs.py), jobs (jobs.py),
uploads (files.py) and the upload page at / (page.py)."""

from __future__ import annotations

# First: the model loads in the background while the imports below run (see early_load).
import sentiment_core.adapters.early_load  # noqa: F401

# isort: split
from http import HTTPStatus

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.api import body, docs, examples, files, jobs, page
from functions.api.cors import cors_config
from functions.api.errors import documented_errors, error_response
from sentiment_core.adapters.shadow_queue import ShadowSender
from sentiment_core.adapters.startup import start
from sentiment_core.responses import explained_out, model_info, prediction_out
from sentiment_core.schemas import ErrorDetail, HealthResponse, PredictRequest, PredictResponse

service = start("api")
logger, metrics, model = service.logger, service.metrics, service.model
shadow = ShadowSender(service.settings, metrics)  # off unless the stack sets a shadow version
app = APIGatewayHttpResolver(
    enable_validation=True, json_body_deserializer=body.parse_json, cors=cors_config()
)
app.include_router(jobs.router)
app.include_router(files.router)
app.include_router(page.router)
app.configure_openapi(title="IMDB sentiment API", version=model.version)  # /openapi.json and /docs


def _error(status: HTTPStatus, message: str, details: list[ErrorDetail] | None = None) -> Response:
    return error_response(status, message, app.lambda_context.aws_request_id, details)


def _field(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "body"


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError) -> Response:
    metrics.add_metric(name="ValidationFailures", unit="Count", value=1)
    errors = error.errors()
    if any(e["type"] == "json_invalid" for e in errors):
        return _error(HTTPStatus.BAD_REQUEST, "request body is not valid JSON")
    # Pydantic's messages name the constraint ("at most 64 items"); the offending input is never echoed.
    details = [ErrorDetail(field=_field(e["loc"]), problem=e["msg"]) for e in errors]
    return _error(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid request", details)


@app.exception_handler(RequestUnsupportedContentType)
def unsupported_content_type(_: RequestUnsupportedContentType) -> Response:
    metrics.add_metric(name="ValidationFailures", unit="Count", value=1)
    return _error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the body as application/json")


@app.not_found
def not_found(_: NotFoundError) -> Response:
    return _error(
        HTTPStatus.NOT_FOUND,
        f"no route {app.current_event.request_context.http.method} {app.current_event.path}",
    )


@app.exception_handler(Exception)
def unexpected(_: Exception) -> Response:
    logger.exception("unhandled error")  # the request id is in every log line
    return _error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")


@app.post(
    "/predict",
    summary="Sentiment of one or more reviews",
    responses={
        200: {
            "description": "Predictions in input order",
            "content": {
                "application/json": {"model": PredictResponse, "examples": examples.predict_examples()}
            },
        },
        **documented_errors(400, 415, 422),
    },
)
def predict(request: PredictRequest) -> PredictResponse:
    texts = request.all_texts()
    if request.explain:
        explained = service.scorer.explain(texts)
        predictions = [e.prediction for e in explained]
        answers = [explained_out(e) for e in explained]
    else:
        predictions = service.scorer.predict(texts)
        answers = [prediction_out(p) for p in predictions]
    response = PredictResponse(model=model_info(model), predictions=answers)
    shadow.offer(texts, predictions, model.version)  # after the answer is made; never raises
    return response


@app.get(
    "/health",
    summary="Model loaded and serving",
    responses={
        200: {"description": "Serving", "content": {"application/json": {"model": HealthResponse}}},
        **documented_errors(503),
    },
)
def health():  # not annotated: answers either HealthResponse or ErrorResponse (see responses)
    # "ok" only after a real prediction: a loaded but broken session must not look healthy.
    if not model.self_check():
        return _error(HTTPStatus.SERVICE_UNAVAILABLE, "model not serving")
    return HealthResponse(
        status="ok",
        model=model_info(model),
        sha256=model.sha256,
        manifest_sha256=model.manifest_sha256,
        registry=model.registry,
    )


@app.get("/openapi.json", summary="This API's OpenAPI document", include_in_schema=False)
def openapi() -> dict:
    schema = app.get_openapi_schema()
    return schema.model_dump(mode="json", by_alias=True, exclude_none=True)


@service.handler(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    docs.enable_when_asked(app, event)
    return app.resolve(body.for_router(event), context)

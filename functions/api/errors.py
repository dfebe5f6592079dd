"""The one shape of every error answer: JSON, a message, optional field details, the request id."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response, content_types

from sentiment_core.schemas import ErrorDetail, ErrorResponse

# Every error answer a route may give, for its OpenAPI `responses` (the fuzz tests hold the API to them).
ERROR_DESCRIPTIONS = {
    400: "The body is not valid JSON",
    403: "Uploads are off: no authorizer, and anonymous uploads are not allowed",
    404: "Unknown job or file",
    415: "The body is not application/json",
    422: "Invalid request: the details name each field and problem",
    503: "The model is not serving",
}


def documented_errors(*statuses: int) -> dict[int, dict]:
    return {
        status: {
            "description": ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"model": ErrorResponse}},
        }
        for status in statuses
    }


def error_response(
    status: HTTPStatus, message: str, request_id: str | None, details: list[ErrorDetail] | None = None
) -> Response:
    body = ErrorResponse(error=message, details=details or [], request_id=request_id)
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body.model_dump_json()
    )

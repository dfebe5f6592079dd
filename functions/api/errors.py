"""The one shape of every error answer: JSON, a message, optional field details, the request id."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response, content_types

from sentiment_core.schemas import ErrorDetail, ErrorResponse


def error_response(
    status: HTTPStatus, message: str, request_id: str | None, details: list[ErrorDetail] | None = None
) -> Response:
    body = ErrorResponse(error=message, details=details or [], request_id=request_id)
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body.model_dump_json()
    )

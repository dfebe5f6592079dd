"""Uploads without AWS credentials: POST /files gives a presigned S3 form, GET /files/{file_id} follows
the file to its results (sentiment_core.adapters.uploads does the S3 part).

With no authorizer in front (ApiAuthorizer=NONE) anyone could upload files for the owner's account to
score and pay for: the routes then answer 403 unless the deployment allows anonymous uploads
(AllowAnonymousUploads=true, as the local run does).
"""

from __future__ import annotations

import functools
import uuid
from http import HTTPStatus
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from functions.api.errors import documented_errors, error_response
from sentiment_core import settings
from sentiment_core.file_schemas import FileStatus, FileUpload, FileUploadRequest

if TYPE_CHECKING:
    from sentiment_core.adapters.uploads import UploadStore

router = Router()
UPLOADS_OFF = (
    "uploads are off: this API has no authorizer (ApiAuthorizer=NONE), and an open upload endpoint lets "
    "anyone spend the owner's money on scoring; deploy with an authorizer, or with "
    "AllowAnonymousUploads=true to accept that"
)


@functools.cache
def store() -> UploadStore:
    # Imported on the first upload request: /predict never needs boto3.
    from sentiment_core.adapters.uploads import UploadStore

    return UploadStore.from_settings(settings.current())


def uploads_refused() -> Response | None:
    config = settings.current()
    if config.api_authorizer == "NONE" and not config.allow_anonymous_uploads:
        return error_response(HTTPStatus.FORBIDDEN, UPLOADS_OFF, router.lambda_context.aws_request_id)
    return None


def _json(status: HTTPStatus, body: str) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@router.post(
    "/files",
    summary="A form to upload a CSV for scoring, straight to S3",
    responses={
        201: {"description": "The upload form", "content": {"application/json": {"model": FileUpload}}},
        **documented_errors(400, 403, 415, 422),
    },
)
def new_file(request: FileUploadRequest):  # not annotated: answers either FileUpload or ErrorResponse
    if refused := uploads_refused():
        return refused
    upload = store().new_upload(request.name, request.content_type, request.group_column, request.explain)
    answer = FileUpload(**upload, content_type=request.content_type, max_bytes=store().max_bytes)
    response = _json(HTTPStatus.CREATED, answer.model_dump_json())
    response.headers["Location"] = f"/files/{answer.file_id}"
    return response


@router.get(
    "/files/<file_id>",
    summary="What has become of an uploaded file: its state, progress, summary and, once done, its links",
    responses={
        200: {"description": "The file", "content": {"application/json": {"model": FileStatus}}},
        **documented_errors(403, 404),
    },
)
def get_file(file_id: str):  # not annotated: answers either FileStatus or ErrorResponse (see responses)
    if refused := uploads_refused():
        return refused
    try:
        known = str(uuid.UUID(file_id)) == file_id  # only the ids POST /files gives: no other key is read
    except ValueError:
        known = False
    found = store().status(file_id) if known else None
    if found is None:
        return error_response(HTTPStatus.NOT_FOUND, "no such file", router.lambda_context.aws_request_id)
    return _json(HTTPStatus.OK, FileStatus.model_validate(found).model_dump_json(exclude_none=True))

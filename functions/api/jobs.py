"""Async jobs: POST /jobs queues up to 1,000 texts, GET /jobs/{job_id} reports them."""

from __future__ import annotations

import functools
import uuid
from http import HTTPStatus
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from functions.api.errors import documented_errors, error_response
from sentiment_core import settings
from sentiment_core.schemas import JobAccepted, JobRequest, JobStatus, ModelInfo, PredictionOut

if TYPE_CHECKING:
    from sentiment_core.adapters.jobs import JobStore

router = Router()


@functools.cache
def store() -> JobStore:
    # Imported on the first job request: boto3 is a tenth of the cold start, and /predict never needs it.
    from sentiment_core.adapters.jobs import JobStore

    return JobStore.from_settings(settings.current())


def _not_found(job_id: str) -> Response:
    return error_response(HTTPStatus.NOT_FOUND, f"no job {job_id!r}", router.lambda_context.aws_request_id)


@router.post(
    "/jobs",
    summary="Queue reviews for asynchronous scoring",
    responses={
        202: {"description": "Queued", "content": {"application/json": {"model": JobAccepted}}},
        **documented_errors(400, 415, 422),
    },
)
def submit_job(request: JobRequest) -> Response[JobAccepted]:
    job_id = store().submit(request.all_texts(), explain=request.explain)
    return Response(
        status_code=HTTPStatus.ACCEPTED,
        content_type=content_types.APPLICATION_JSON,
        body=JobAccepted(job_id=job_id, status="queued"),
        headers={"Location": f"/jobs/{job_id}"},
    )


@router.get(
    "/jobs/<job_id>",
    summary="Status and, once done, predictions of a job",
    responses={
        200: {"description": "The job", "content": {"application/json": {"model": JobStatus}}},
        **documented_errors(404),
    },
)
def get_job(job_id: str):  # not annotated: answers either JobStatus or ErrorResponse (see responses)
    try:
        uuid.UUID(job_id)
    except ValueError:
        return _not_found(job_id)
    item = store().get(job_id)
    if item is None:
        return _not_found(job_id)
    status = JobStatus(job_id=job_id, status=item["status"], reason=item.get("reason"))
    if item["status"] == "done":
        result = store().load_result(job_id)
        status = status.model_copy(
            update={
                "model": ModelInfo.model_validate(result["model"]),
                "predictions": [PredictionOut.model_validate(p) for p in result["predictions"]],
            }
        )
    return Response(
        status_code=HTTPStatus.OK,
        content_type=content_types.APPLICATION_JSON,
        body=status.model_dump_json(),
    )

"""The local run's cuts to moto's per-request costs leave what moto serves unchanged."""

from __future__ import annotations

from moto import backends
from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import resource_eval_s3
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

from local_run.moto_overhead import CONNECTIONS, lighter_moto


def test_backends_are_found_as_before_and_the_interpreter_keeps_one_client_per_service():
    listed = list(backends.list_of_moto_modules())
    originals = lambda_eval_utils.boto_client_for, resource_eval_s3.boto_client_for
    with lighter_moto():
        assert list(backends.list_of_moto_modules()) == listed
        first = lambda_eval_utils.boto_client_for(
            region="us-east-1", service="lambda", state_credentials=None
        )
        assert lambda_eval_utils.boto_client_for(region="us-east-1", service="lambda") is first
        assert first.meta.service_model.service_name == "lambda" and first.meta.region_name == "us-east-1"
        assert first.meta.config.max_pool_connections == CONNECTIONS
        assert first.meta.config.retries["total_max_attempts"] == 1  # moto's own settings kept
        s3 = resource_eval_s3.boto_client_for(region="us-east-1", service="s3")
        assert s3.meta.service_model.service_name == "s3" and s3 is not first
    assert (lambda_eval_utils.boto_client_for, resource_eval_s3.boto_client_for) == originals
    assert list(backends.list_of_moto_modules()) == listed

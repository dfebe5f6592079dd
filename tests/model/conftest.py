"""The model tier: the handlers on moto, serving the committed ONNX model."""

from tests.helpers import handler_fixtures

aws, handlers, api, worker, batch = handler_fixtures()

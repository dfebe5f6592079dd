"""The fast tier: the handlers on moto, serving the deterministic fake model."""

from tests.fakes import FakeModel
from tests.helpers import handler_fixtures

aws, handlers, api, worker, batch = handler_fixtures(FakeModel)

"""The API fuzzed from its own OpenAPI schema (schemathesis) as an admin: whatever is sent,
every answer has a status, type and shape the schema declares, and none is a server error;
few examples per operation."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from dashboard_files import TOKENS, make_sources
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from corral.dashboard.app import create_app

# Built at collection: schemathesis parametrizes from a schema it holds then (its fixture
# form does not run on this pytest).
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(make_sources(Path(tempfile.mkdtemp(prefix="corral-fuzz-")))))


@schema.parametrize()
@settings(max_examples=3, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
def test_api_answers_within_its_schema(case: schemathesis.Case) -> None:
    # The answer's shape and status, not the auth checks: they drop the header this adds.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {TOKENS['admin']}"},
        checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                response_schema_conformance])

"""Property-based fuzzing of every API operation: schemathesis generates requests from the OpenAPI schema
(valid ones and ones that break it), sends them through the real WSGI stack (middleware, CSRF, Ninja) as a
province admin's Bearer token and anonymously, and checks that the answer is never a 5xx, has a documented
status and content type, matches the documented schema, and that every error is ``{"error": {"code",
"message", "details"}}`` with a Vietnamese message.

Deterministic (``derandomize``) and small per operation, so it runs in well under a minute. Each operation
gets its own database (the test transaction), so a valid-but-destructive request (revoking the very token in
use, retiring a zone) only lowers that operation's coverage, never another's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.api.main import api
from loa.units.models import Unit

SCHEMA = schemathesis.openapi.from_dict(api.get_openapi_schema())
OPERATIONS: dict[str, Any] = {}
for _result in SCHEMA.get_all_operations():
    assert isinstance(_result, Ok), (
        f"the API's OpenAPI schema has an operation schemathesis cannot read: {_result}"
    )
    OPERATIONS[_result.ok().label] = _result.ok()
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# per operation and per mode (valid / schema-breaking); LOA_FUZZ_EXAMPLES=200 for a deeper run by hand
EXAMPLES = int(os.environ.get("LOA_FUZZ_EXAMPLES", "10"))

VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]", re.I)


@pytest.fixture
def wsgi_app() -> Iterator[WSGIHandler]:
    """The production WSGI handler; like Django's test client, it keeps the test's database connection open."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def admin(
    tree: dict[str, Unit], make_user: Callable[..., User], token_for: Callable[..., str]
) -> tuple[str, dict[str, Any]]:
    """A province admin's token, and values that reach existing objects (so fuzzing gets past "not found")."""
    from loa.content.models import Bulletin, FeedItem

    admin = make_user("tinh-admin", Role.PROVINCE_ADMIN, tree["province"])
    bulletin = Bulletin.objects.create(
        title="Bản tin thử", origin_unit=tree["a"], produced_at="2030-01-01T00:00:00+07:00",
        created_by=admin, updated_by=admin,
    )  # fmt: skip
    item = FeedItem.objects.create(bulletin=bulletin, unit=tree["a"])
    known = {
        "code": "06652",
        "unit_code": "06652",
        "unit": "06652",
        "bulletin_id": bulletin.pk,
        "item_id": item.pk,
    }
    return token_for(admin), known


def _strategy(label: str, known: dict[str, Any]) -> Any:
    operation = OPERATIONS[label]
    known_path = {k: v for k, v in known.items() if k in {p.name for p in operation.path_parameters}}
    known_query = {k: v for k, v in known.items() if k in {p.name for p in operation.query}}
    strategies = [operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    if known_path or known_query:
        # reaching real objects: the same generation with the ids/codes fixed
        strategies.append(
            operation.as_strategy(
                GenerationMode.POSITIVE, path_parameters=known_path or None, query=known_query or None
            )
        )
    return st.one_of(strategies)


def _assert_error_format(response: Any, where: str) -> None:
    if response.status_code < 400:
        return
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.startswith("application/json"), (
        f"{where}: error {response.status_code} is not JSON: {response.text[:200]!r}"
    )
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, (
        f"{where}: non-standard error body {body!r}"
    )
    error = body["error"]
    assert re.fullmatch(r"[a-z][a-z0-9_]*", error["code"]), f"{where}: code {error['code']!r}"
    assert VIETNAMESE.search(error["message"]), f"{where}: message not Vietnamese: {error['message']!r}"
    assert "Input should" not in response.text, f"{where}: pydantic's English leaked: {error!r}"


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_every_operation_answers_bad_input_with_a_4xx_in_the_one_error_format(
    label: str, wsgi_app: WSGIHandler, admin: tuple[str, dict[str, Any]]
) -> None:
    admin_token, known = admin
    identities = {"province admin": {"Authorization": f"Bearer {admin_token}"}, "anonymous": {}}

    @settings(
        max_examples=EXAMPLES * 2,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_strategy(label, known))
    def fuzz(case: Any) -> None:
        for who, headers in identities.items():
            response = case.call(app=wsgi_app, headers=headers)
            where = f"{label} as {who}: {case.as_curl_command(headers=headers)}"
            case.validate_response(response, checks=CHECKS, headers=headers)
            _assert_error_format(response, where)

    fuzz()

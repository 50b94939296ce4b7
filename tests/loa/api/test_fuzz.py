"""Property-based fuzzing of every API operation: schemathesis generates requests from the OpenAPI schema
(valid ones and ones that break it), sends them through the real WSGI stack (middleware, CSRF, Ninja) as a
province admin's Bearer token and anonymously, and checks that the answer is never a 5xx, has a documented
status and content type, matches the documented schema, and that every error is ``{"error": {"code",
"message", "details"}}`` with a Vietnamese message.

A request that breaks the schema must get a 4xx (``negative_data_rejection``): a 2xx fails. Deterministic
(``derandomize``) and small per operation in ``make test``; the deeper random run below has a printed seed. Each operation
gets its own database (the test transaction), so a valid-but-destructive request (revoking the very token in
use, retiring a zone) only lowers that operation's coverage, never another's.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, reject, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.api.main import api
from loa.units.models import Unit

SCHEMA = schemathesis.openapi.from_dict(api.get_openapi_schema())
# The tests send their own Authorization header (the identities in _fuzz), which replaces the generated one: a
# generated, schema-breaking Authorization would never reach the server, yet it would mark the case as breaking its
# headers and switch off schemathesis' own "valid once serialized" exemptions (a repeated ``?unit=a&unit=b`` then
# counted as a 2xx to invalid input). Forged and malformed tokens are sent as identities of their own instead.
SCHEMA.config.generation.update(with_security_parameters=False)
OPERATIONS: dict[str, Any] = {}
for _result in SCHEMA.get_all_operations():
    assert isinstance(_result, Ok), (
        f"the API's OpenAPI schema has an operation schemathesis cannot read: {_result}"
    )
    OPERATIONS[_result.ok().label] = _result.ok()
# negative_data_rejection: a request that breaks the schema (generation mode NEGATIVE) must get a 4xx — a 2xx fails
# (schemathesis itself skips mutations that become valid once serialized, e.g. an "extra" query parameter)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
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


def _empty_container_reads_as_a_string(case: Any) -> bool:
    """A schema-breaking case whose "breaking" query value is an empty object or list: on the wire that is
    ``?unit=`` or no parameter at all, which a nullable string parameter rightly accepts — the request the server
    sees is valid, so a 2xx to it is not a defect (schemathesis 4.32 only recognises non-empty containers)."""
    if case.meta is None or not case.meta.generation.mode.is_negative or not isinstance(case.query, dict):
        return False
    for name, value in case.query.items():
        if value in ({}, []):
            parameter = case.operation.query.get(name)
            schema = parameter.definition.get("schema", {}) if parameter is not None else {}
            types = {s.get("type") for s in schema.get("anyOf", [schema])}
            if "string" in types and not schema.get("minLength") and not schema.get("pattern"):
                return True
    return False


def _fuzz(
    label: str, wsgi_app: WSGIHandler, admin: tuple[str, dict[str, Any]], forged: bool = False, **options: Any
) -> None:
    admin_token, known = admin
    identities: dict[str, dict[str, str]] = {
        "province admin": {"Authorization": f"Bearer {admin_token}"},
        "anonymous": {},
    }
    if forged:  # the deeper run only: the same refusal path as "anonymous", so make test keeps its time
        identities["a forged token"] = {"Authorization": "Bearer loa_" + "A" * 43}
        identities["a malformed header"] = {"Authorization": "Basic \u00e1\u00e0=="}

    @settings(
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        **options,
    )
    @given(case=_strategy(label, known))
    def fuzz(case: Any) -> None:
        if _empty_container_reads_as_a_string(case):
            reject()
        for who, headers in identities.items():
            response = case.call(app=wsgi_app, headers=headers)
            where = f"{label} as {who}: {case.as_curl_command(headers=headers)}"
            case.validate_response(response, checks=CHECKS, headers=headers)
            _assert_error_format(response, where)

    fuzz()


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_every_operation_answers_bad_input_with_a_4xx_in_the_one_error_format(
    label: str, wsgi_app: WSGIHandler, admin: tuple[str, dict[str, Any]]
) -> None:
    _fuzz(label, wsgi_app, admin, max_examples=EXAMPLES * 2, derandomize=True)


# The deeper run: random examples (not the derandomised ones above) for LOA_FUZZ_SECONDS in all, shared between the
# operations, from a seed that is printed and can be set again (LOA_FUZZ_SEED) to replay a failure. CI runs it with
# LOA_FUZZ_SECONDS=60 (.ci/run); `make test` skips it.
FUZZ_SECONDS = float(os.environ.get("LOA_FUZZ_SECONDS") or 0)
FUZZ_SEED = int(os.environ.get("LOA_FUZZ_SEED") or secrets.randbits(32))


@pytest.fixture(scope="module")
def fuzz_seed(request: pytest.FixtureRequest) -> int:
    line = f"random API fuzzing: LOA_FUZZ_SEED={FUZZ_SEED} LOA_FUZZ_SECONDS={FUZZ_SECONDS:g}"
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(f"\n{line}", file=sys.stderr, flush=True)
    return FUZZ_SEED


@pytest.mark.skipif(not FUZZ_SECONDS, reason="the deeper random run needs LOA_FUZZ_SECONDS (CI sets 60)")
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_random_fuzzing_with_a_recorded_seed(
    label: str, wsgi_app: WSGIHandler, admin: tuple[str, dict[str, Any]], fuzz_seed: int
) -> None:
    stop = time.monotonic() + FUZZ_SECONDS / len(OPERATIONS)
    chunk = 0
    while chunk == 0 or time.monotonic() < stop:
        chunk_seed = (fuzz_seed ^ zlib.crc32(label.encode())) + chunk
        try:
            seed(chunk_seed)(
                lambda: _fuzz(label, wsgi_app, admin, forged=True, max_examples=10, derandomize=False)
            )()
        except BaseException as exc:
            raise AssertionError(
                f"{label}: random fuzzing failed; replay with LOA_FUZZ_SEED={fuzz_seed} (example batch {chunk}, "
                f"hypothesis seed {chunk_seed})"
            ) from exc
        chunk += 1


def test_a_2xx_to_schema_breaking_input_fails_the_check() -> None:
    """The check can fail: an app that accepts everything (201 with a valid body) is caught on negative cases."""
    label = "POST /api/v1/units/{code}/zones"
    operation = OPERATIONS[label]
    documented = operation.definition.raw["responses"]
    status = next(int(code) for code in documented if code.startswith("2"))

    def accepts_everything(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response(f"{status} OK", [("Content-Type", "application/json")])
        return [b"{}"]

    caught = []

    @settings(
        max_examples=30,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(GenerationMode.NEGATIVE))
    def fuzz(case: Any) -> None:
        response = case.call(app=accepts_everything)
        try:
            case.validate_response(response, checks=[negative_data_rejection])
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a group of failures
            caught.append(exc)

    fuzz()
    assert any("Schema-violating request accepted" in str(exc) for exc in caught), (
        "a 2xx to schema-breaking input passed the check"
    )


def test_only_an_empty_container_in_a_string_parameter_is_set_aside() -> None:
    """The filter above drops exactly the cases the server cannot tell from valid ones: an empty object in the
    nullable string ``unit`` is set aside; the same in the integer ``offset``, a non-empty object, or a valid
    case is not."""
    from hypothesis import find

    operation = OPERATIONS["GET /api/v1/media"]
    case = find(
        operation.as_strategy(GenerationMode.NEGATIVE),
        lambda case: True,
        settings=settings(database=None, suppress_health_check=list(HealthCheck)),
    )
    for query, set_aside in [
        ({"unit": {}}, True),
        ({"q": [], "offset": 3}, True),
        ({"offset": {}}, False),
        ({"unit": {"a": "b"}}, False),
        ({"unit": "06652"}, False),
    ]:
        case.query = query
        assert _empty_container_reads_as_a_string(case) is set_aside, query

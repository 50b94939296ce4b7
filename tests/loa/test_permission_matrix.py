"""The permission matrix: every page and every API operation, discovered from the URL configuration and the
OpenAPI schema, is requested by users of commune A against the objects of commune B (and anonymously).

Nothing of B may be seen or changed: the answer is a 4xx (never a 5xx), the body never shows B's marker names
or codes, and the audit log (where every change is recorded) does not grow. A new view or endpoint cannot
escape: its URL parameters need a factory in ``PARAM_FACTORIES`` (the test fails naming the parameter), and
it is requested like every other one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from loa.accounts.models import ApiToken, RoleAssignment, User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.units.models import Unit

# Names and codes that only commune B has: none of them may appear in an answer to a user of commune A.
B_MARKERS = ("Cao Xanh", "06658", "b-secret-user", "Tổ dân phố 5")

# Pages anyone may reach without signing in.
PUBLIC_NAMES = {
    "accounts:login",
    "accounts:logout",
    "set_language",
    "api:openapi-json",
    "api:openapi-view",
    "media:file",  # content-addressed capability URL for devices (docs/media.md)
}
# API operations that authenticate by other means (a one-time code in the body) rather than a session/token.
PUBLIC_API = {("post", "/api/v1/fleet/enrol")}


@dataclass
class World:
    tree: dict[str, Unit]
    b_user: User
    b_assignment: RoleAssignment
    b_token: ApiToken
    extra: dict[str, Any]


# A factory gives, for a URL parameter name, a value that designates an object of commune B.
PARAM_FACTORIES: dict[str, Callable[[World], Any]] = {
    "code": lambda w: w.tree["b"].code,
    "unit_code": lambda w: w.tree["b"].code,
    "user_id": lambda w: w.b_user.pk,
    "assignment_id": lambda w: w.b_assignment.pk,
    "token_id": lambda w: w.b_token.pk,
    "slug": lambda w: "bulletins",
    "key": lambda w: "note",
    "bulletin_id": lambda w: _b_bulletin(w).pk,
    "item_id": lambda w: _b_bulletin(w).feed_items.get().pk,
    "number": lambda w: 1,
    "name": lambda w: "take",
    "clip_id": lambda w: _b_clip(w).pk,
    "asset_id": lambda w: _b_asset(w).pk,
    "sha256": lambda w: _b_asset(w).sha256,
    "job_id": lambda w: _b_media_job(w).pk,
    "schedule_id": lambda w: _b_schedule(w).pk,
    "emergency_id": lambda w: _b_emergency(w).pk,
}
if "device_id" not in PARAM_FACTORIES:
    PARAM_FACTORIES["device_id"] = lambda w: _b_device(w).device_id
PARAM_FACTORIES["code_id"] = lambda w: _b_enrolment_code(w).pk
PARAM_FACTORIES["command_id"] = lambda w: _b_command(w).pk
PARAM_FACTORIES["media_asset_id"] = lambda w: _b_asset(w).pk  # "play now" of a library asset (fleet API body)
PARAM_FACTORIES["attachment_id"] = lambda w: _b_attachment(w).pk  # a file attached to commune B's bulletin


def _b_enrolment_code(w: World) -> Any:
    from loa.fleet.services import do_create_enrolment_code

    if "enrolment_code" not in w.extra:
        w.extra["enrolment_code"], _code = do_create_enrolment_code(w.tree["b"], actor=w.b_user)
    return w.extra["enrolment_code"]


def _b_command(w: World) -> Any:
    from loa.fleet.services import do_send_command

    if "command" not in w.extra:
        _b_device(w)
        w.extra["command"] = do_send_command(actor=w.b_user, action="stop", target_unit=w.tree["b"])
    return w.extra["command"]


def _b_device(w: World) -> Any:
    from loa.fleet.models import Device

    if "device" not in w.extra:
        w.extra["device"] = Device.objects.create(
            device_id="loa-0000000b0b0b", unit=w.tree["b"], serial="B-1"
        )
    return w.extra["device"]


def _b_schedule(w: World) -> Any:
    """A schedule of commune B playing B's own programme on B."""
    from loa.broadcast.models import Programme, Schedule

    if "schedule" not in w.extra:
        programme = Programme.objects.create(unit=w.tree["b"], title="Chương trình của Cao Xanh")
        s = Schedule.objects.create(
            unit=w.tree["b"], programme=programme, title="Lịch của Cao Xanh", kind="daily", times=["06:00"]
        )
        s.target_units.set([w.tree["b"]])
        w.extra["schedule"] = s
    return w.extra["schedule"]


def _b_emergency(w: World) -> Any:
    from django.utils import timezone

    from loa.broadcast.models import Emergency

    if "emergency" not in w.extra:
        w.extra["emergency"] = Emergency.objects.create(
            unit=w.tree["b"], title="Khẩn cấp Cao Xanh", item_id="em-b", sha256="0" * 64, media_url="x",
            duration_s=10.0, requested_at=timezone.now(),
        )  # fmt: skip
    return w.extra["emergency"]


def _b_asset(w: World) -> Any:
    """An audio asset of commune B's library (its file need not exist for the checks)."""
    from loa.media.models import MediaAsset

    if "asset" not in w.extra:
        w.extra["asset"] = MediaAsset.objects.create(
            unit=w.tree["b"], sha256="b" * 64, original_sha256="c" * 64, original_name="Cao Xanh.mp3",
            duration_s=1.0, created_by=w.b_user,
        )  # fmt: skip
    return w.extra["asset"]


def _b_media_job(w: World) -> Any:
    """An upload-processing job of commune B."""
    from loa.jobs.models import Job

    if "media_job" not in w.extra:
        w.extra["media_job"] = Job.objects.create(
            kind="media.ingest", unit=w.tree["b"], created_by=w.b_user, message="Cao Xanh"
        )
    return w.extra["media_job"]


def _b_clip(w: World) -> Any:
    """A text-to-speech clip made for commune B."""
    from loa.tts.models import SpeechClip

    if "clip" not in w.extra:
        w.extra["clip"] = SpeechClip.objects.create(
            unit=w.tree["b"], text="Cao Xanh", read_as="Cao Xanh", voice="north", speed=140, engine="espeak-ng",
            sha256="0" * 64, path="audio/none.mp3", duration_s=1.0, loudness_lufs=-16.0, created_by=w.b_user,
        )  # fmt: skip
    return w.extra["clip"]


def _b_attachment(w: World) -> Any:
    """An image (a real 1×1 PNG, stored) attached to commune B's bulletin."""
    import tempfile
    from pathlib import Path

    from loa.content.attachments import do_ingest_attachment
    from loa.content.models import Attachment

    if "attachment" not in w.extra:
        png = bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "cao-xanh.png"
            path.write_bytes(png)
            asset = do_ingest_attachment(path, unit=w.tree["b"], actor=w.b_user, original_name="Cao Xanh.png")
        w.extra["attachment"] = Attachment.objects.create(
            bulletin=_b_bulletin(w), kind="image", asset=asset, title="Cao Xanh", added_by=w.b_user
        )
    return w.extra["attachment"]


def _b_bulletin(w: World) -> Any:
    """A bulletin of commune B (written there), in B's inbox (shared up to nobody A can see)."""
    from loa.content.models import Bulletin, FeedItem

    if "bulletin" not in w.extra:
        b = Bulletin.objects.create(
            title="Bản tin riêng của Cao Xanh",
            origin_unit=w.tree["b"],
            produced_at="2030-01-01T00:00:00+07:00",
            created_by=w.b_user,
            updated_by=w.b_user,
        )
        FeedItem.objects.create(bulletin=b, unit=w.tree["b"])
        w.extra["bulletin"] = b
    return w.extra["bulletin"]


# Query-string and form fields that name a unit: they are set to commune B on every request.
UNIT_FIELDS = ("unit", "unit_code", "parent", "code", "commune", "zone")


@pytest.fixture
def world(tree: dict[str, Unit], make_user: Callable[..., User]) -> World:
    b_user = make_user("b-secret-user", Role.COMMUNE_OPERATOR, tree["b"])
    assignment = RoleAssignment.objects.get(user=b_user)
    key = ApiToken.new_key()
    token = ApiToken.objects.create(
        user=b_user, name="b-secret-token", prefix=key[:8], key_hash=ApiToken.hash_key(key), scopes=["*"]
    )
    return World(tree=tree, b_user=b_user, b_assignment=assignment, b_token=token, extra={})


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, list[str]]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}:{p.namespace}" if namespace and p.namespace else (p.namespace or namespace)
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            name = f"{namespace}:{p.name}" if namespace and p.name else (p.name or "")
            route = prefix + str(p.pattern)
            params = re.findall(r"<(?:\w+:)?(\w+)>", route)
            yield route, name, params


def console_routes() -> list[tuple[str, str, list[str]]]:
    """Every non-API, non-static URL pattern with a name (the admin is checked separately)."""
    routes = []
    for route, name, params in _walk(get_resolver().url_patterns):
        if route.startswith(("api/", "admin/", "static/")) or not name:
            continue
        routes.append((route, name, params))
    return routes


def api_operations() -> list[tuple[str, str, dict[str, Any]]]:
    from loa.api.main import api

    schema = api.get_openapi_schema()
    ops = []
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            ops.append((method, path, {"op": op, "schema": schema}))
    return ops


def _fill(route_params: list[str], w: World, where: str) -> dict[str, Any]:
    missing = [p for p in route_params if p not in PARAM_FACTORIES]
    assert not missing, (
        f"{where}: URL parameter(s) {missing} have no factory in PARAM_FACTORIES; add one that designates an "
        "object of commune B so the permission matrix can check this view."
    )
    return {p: PARAM_FACTORIES[p](w) for p in route_params}


def _example(schema: dict[str, Any], components: dict[str, Any], name: str, w: World, depth: int = 0) -> Any:
    if "$ref" in schema:
        return _example(components[schema["$ref"].split("/")[-1]], components, name, w, depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return _example(options[0], components, name, w, depth + 1)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 4:
            return {}
        return {k: _example(v, components, k, w, depth + 1) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [_example(schema.get("items", {}), components, name, w, depth + 1)]
    if kind == "integer":
        if name in PARAM_FACTORIES:
            return PARAM_FACTORIES[name](w)
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    if schema.get("format") == "date-time":
        return "2030-01-01T00:00:00+07:00"
    if any(f in name for f in UNIT_FIELDS):
        return w.tree["b"].code
    return "Kiểm thử"


def _body_for(op: dict[str, Any], schema: dict[str, Any], w: World) -> tuple[str, str | None]:
    content = op.get("requestBody", {}).get("content", {})
    components = schema.get("components", {}).get("schemas", {})
    if "application/json" in content:
        body = _example(content["application/json"]["schema"], components, "", w)
        return json.dumps(body), "application/json"
    return "", None


def _query_for(op: dict[str, Any], w: World) -> dict[str, Any]:
    query = {}
    for param in op.get("parameters", []):
        if param.get("in") == "query":
            name = param["name"]
            if name in PARAM_FACTORIES:
                query[name] = PARAM_FACTORIES[name](w)
            elif any(f == name for f in UNIT_FIELDS):
                query[name] = w.tree["b"].code
    return query


def _assert_nothing_of_b(response: Any, where: str) -> None:
    assert response.status_code < 500, f"{where}: server error {response.status_code}"
    body = response.content.decode("utf-8", "replace") if not getattr(response, "streaming", False) else ""
    # The page may echo the address it was asked for (a "next" field); that is not B's data.
    asked = response.wsgi_request.get_full_path()
    body = body.replace(asked, "").replace(asked.replace("&", "&amp;"), "")
    for marker in B_MARKERS:
        assert marker not in body, (
            f"{where}: answer shows {marker!r} of commune B (status {response.status_code})"
        )


ROLES_IN_A = [Role.COMMUNE_OPERATOR, Role.VIEWER, Role.APPROVER, Role.TECHNICIAN, Role.EDITOR, Role.AUDITOR]


@pytest.mark.parametrize("role", ROLES_IN_A)
def test_users_of_commune_a_cannot_see_or_change_commune_b(
    role: str,
    world: World,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    token_for: Callable[..., str],
) -> None:
    user = make_user(f"a-{role}", role, world.tree["a"])
    session = client_for(user)
    bearer = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    checked = 0
    for _route, name, params in console_routes():
        if name == "accounts:logout":
            continue  # it would end the session the rest of the matrix uses; checked anonymously below
        kwargs = _fill(params, world, name)
        url = reverse(name, kwargs=kwargs)
        form = {f: world.tree["b"].code for f in UNIT_FIELDS} | {
            "name": "Thôn lạ",
            "kind": "thon",
            "role": "viewer",
        }
        for method in ("get", "post"):
            before = AuditEntry.objects.count()
            response = getattr(session, method)(
                url, form if method == "post" else {"unit": world.tree["b"].code}
            )
            where = f"{method.upper()} {url} as {role} of A"
            _assert_nothing_of_b(response, where)
            if params and any(
                p in {"code", "unit_code", "user_id", "assignment_id", "token_id"} for p in params
            ):
                assert response.status_code in (403, 404, 405), (
                    f"{where}: expected 403/404, got {response.status_code}"
                )
            if not name.startswith("accounts:"):
                assert AuditEntry.objects.count() == before, (
                    f"{where}: something was changed (audit log grew)"
                )
            checked += 1
    for method, path, info in api_operations():
        if (method, path) in PUBLIC_API:
            continue
        route_params = re.findall(r"{(\w+)}", path)
        kwargs = _fill(route_params, world, f"{method.upper()} {path}")
        url = path.format(**kwargs)
        body, content_type = _body_for(info["op"], info["schema"], world)
        query = _query_for(info["op"], world)
        for client in (session, bearer):
            before = AuditEntry.objects.count()
            target = url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
            if content_type:
                response = getattr(client, method)(target, body, content_type=content_type)
            else:
                response = getattr(client, method)(target)
            where = f"{method.upper()} {target} as {role} of A"
            _assert_nothing_of_b(response, where)
            if route_params and any(
                p in {"code", "unit_code", "user_id", "assignment_id", "token_id"} for p in route_params
            ):
                assert response.status_code in (403, 404, 422), (
                    f"{where}: expected 403/404, got {response.status_code}"
                )
            assert AuditEntry.objects.count() == before, f"{where}: something was changed (audit log grew)"
            checked += 1
    assert checked > 20


def test_anonymous_reaches_only_public_pages(world: World) -> None:
    anonymous = Client()
    for _route, name, params in console_routes():
        url = reverse(name, kwargs=_fill(params, world, name))
        response = anonymous.get(url)
        if name in PUBLIC_NAMES:
            assert response.status_code < 500
            continue
        assert response.status_code in (302, 405), f"GET {url} anonymously: {response.status_code}"
        if response.status_code == 302:
            assert reverse("accounts:login") in response["Location"], f"GET {url} did not ask to sign in"
    for method, path, info in api_operations():
        if (method, path) in PUBLIC_API:
            continue
        url = path.format(**_fill(re.findall(r"{(\w+)}", path), world, path))
        body, content_type = _body_for(info["op"], info["schema"], world)
        response = (
            getattr(anonymous, method)(url, body, content_type=content_type)
            if content_type
            else getattr(anonymous, method)(url)
        )
        assert response.status_code == 401, f"{method.upper()} {url} anonymously: {response.status_code}"
        assert response.json()["error"]["code"] == "not_authenticated"


def test_owner_of_commune_b_can_read_every_page_the_matrix_denies(
    world: World, client_for: Callable[[User], Client]
) -> None:
    """The positive control: the same URLs work for B's own operator, so the denials above are real."""
    session = client_for(world.b_user)
    for _route, name, params in console_routes():
        if name in PUBLIC_NAMES or not params:
            continue
        url = reverse(name, kwargs=_fill(params, world, name))
        response = session.get(url)
        assert response.status_code in (200, 302, 403, 405), (
            f"GET {url} as B's operator: {response.status_code}"
        )
    response = session.get(reverse("console:unit", kwargs={"code": world.tree["b"].code}))
    assert response.status_code == 200 and "Cao Xanh" in response.content.decode()


def test_django_admin_is_for_verified_system_admins_only(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    province_admin = make_user("tinh-admin", Role.PROVINCE_ADMIN, world.tree["province"], is_staff=True)
    response = client_for(province_admin).get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    sysadmin = make_user("root-admin", Role.SYSTEM_ADMIN, None, is_staff=True, is_superuser=True)
    unverified = Client()
    unverified.force_login(sysadmin)
    assert unverified.get("/admin/").status_code == 302
    assert client_for(sysadmin).get("/admin/").status_code == 200

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
from loa.units.models import Kind, Level, Unit

# Names and codes that only commune B has: none of them may appear in an answer to a user of commune A.
B_MARKERS = ("Cao Xanh", "06658", "b-secret-user", "Tổ dân phố 5")

# Pages anyone may reach without signing in.
PUBLIC_NAMES = {
    "accounts:login",
    "accounts:logout",
    "set_language",
    "api:openapi-json",  # 401 in the API's error format for anonymous users (the docs page asks to sign in)
    "media:file",  # published media only; the rest needs a device's credentials or a session (docs/media.md)
    "signage:file",  # board files: the board whose manifest names it, or a user who sees the slide (docs/signage.md)
    "signage:font",  # the bundled Be Vietnam Pro font (OFL), the same for everyone
}
# API operations that authenticate by other means (a one-time code in the body) rather than a session/token.
PUBLIC_API = {("post", "/api/v1/fleet/enrol")}
# Commune B's unpublished feedback: its text, address and phone never show in the public app (nor in the console to
# another commune: B's name is in the text). The tracking link is the citizen's capability: the matrix guesses one.
FEEDBACK_SECRETS = ("Phản ánh riêng ở Cao Xanh", "Số 7 ngõ kín", "0999888777")
# The citizens' public app (issue 10): anyone may read, and only what is published. Commune B's name and its
# published bulletins may show there; B's draft, its people and its e-mail may not (the full proof, every state and
# every internal field: tests/loa/citizen/test_public_feed.py). Nothing changes on a GET.
PUBLIC_APP_NAMES = ("citizen_public:", "feedback_public:", "alerts_public:", "polls_public:")
PUBLIC_APP_API = ("/api/v1/public/",)
# Commune B's draft poll (never public) and the free-text answer to its published one (operators only).
POLL_SECRETS = ("Thăm dò nháp của Cao Xanh", "Ý kiến riêng ở Cao Xanh")
PUBLIC_APP_MARKERS = (
    "Bản tin riêng của Cao Xanh", "b-secret-user", "hue-secret-user", *FEEDBACK_SECRETS, *POLL_SECRETS
)  # fmt: skip
# The board player (issue 9): its page and scripts are the same for every board (public, nothing of a unit in them);
# everything else answers only a board's own credentials (HTTP Basic) and only about that board — a session, a
# token or nothing gets 401 (a board against another board's files: tests/loa/signage/test_player.py).
BOARD_PLAYER_PUBLIC = {"board_player:page", "board_player:asset"}
BOARD_PLAYER_NAMES = ("board_player:",)


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
PARAM_FACTORIES["programme_id"] = lambda w: _b_schedule(w).programme.pk  # commune B's programme (approval)
PARAM_FACTORIES["report_id"] = lambda w: _b_report(w).pk  # commune B's periodic report (analytics)


def _b_report(w: World) -> Any:
    """A periodic report of commune B, made (jobs run inline in tests) so its files exist."""
    import datetime as dt

    from loa.accounts.system import SYSTEM
    from loa.analytics.reports import do_create_report

    if "report" not in w.extra:
        w.extra["report"] = do_create_report(
            w.tree["b"], "month", dt.date(2026, 11, 1), dt.date(2026, 11, 30), actor=SYSTEM, number="Cao Xanh"
        )
    return w.extra["report"]


PARAM_FACTORIES["feedback_id"] = lambda w: _b_feedback(w).pk  # commune B's feedback (not published)
PARAM_FACTORIES["poll_id"] = lambda w: _b_poll(w).pk  # commune B's draft poll (not public)
PARAM_FACTORIES["question_id"] = lambda w: _b_poll(w).questions.get().pk
PARAM_FACTORIES["fmt"] = lambda w: "csv"  # a poll's export


def _b_poll(w: World) -> Any:
    """Commune B's draft poll with one question; and a published one of B answered with a private text."""
    import datetime as dt

    from django.utils import timezone

    from loa.citizen.polls import services as polls

    if "poll" not in w.extra:
        now = timezone.now()
        kw = {"actor": w.b_user, "opens_at": now - dt.timedelta(hours=1), "closes_at": now + dt.timedelta(days=1),
              "results": "always"}  # fmt: skip
        draft = polls.do_create_poll(w.tree["b"], title="Thăm dò nháp của Cao Xanh", **kw)
        polls.do_add_question(draft, actor=w.b_user, kind="text", text="Thăm dò nháp của Cao Xanh?")
        open_poll = polls.do_create_poll(w.tree["b"], title="Thăm dò công khai", **kw)
        q = polls.do_add_question(open_poll, actor=w.b_user, kind="text", text="Góp ý?")
        polls.do_publish(open_poll, actor=w.b_user)
        answers = polls.check_ballot(open_poll, {f"q{q.pk}": "Ý kiến riêng ở Cao Xanh"})
        polls.do_cast_ballot(open_poll, key="x" * 64, rule="device", answers=answers)
        w.extra["poll"] = draft
    return w.extra["poll"]


PARAM_FACTORIES["tracking"] = lambda w: "doan-thu-mot-duong-lien-ket-theo-doi-0000"  # a guessed tracking link
PARAM_FACTORIES["abbreviation_id"] = lambda w: (
    _b_abbreviation(w).pk
)  # an entry of commune B's abbreviation table
PARAM_FACTORIES["shot_id"] = lambda w: _b_screenshot(w).pk  # a screenshot of commune B's board
PARAM_FACTORIES["photo_id"] = lambda w: _b_photo(w)  # an installation photo of commune B's device
PARAM_FACTORIES["switch_id"] = lambda w: _b_kill_switch(w).pk  # a kill switch engaged on commune B
PARAM_FACTORIES["slide_id"] = lambda w: _b_playlist(w).items.get().slide_id  # commune B's board slide
PARAM_FACTORIES["playlist_id"] = lambda w: _b_playlist(w).pk  # commune B's board playlist
PARAM_FACTORIES["board_id"] = lambda w: _b_board(w).device_id  # commune B's e-bulletin board (content pages)


def _b_playlist(w: World) -> Any:
    """A board playlist of commune B (a text slide naming B), waiting for approval."""
    from loa.signage.services import SlideInput, do_create_playlist, do_create_slide

    if "playlist" not in w.extra:
        slide = do_create_slide(w.tree["b"], SlideInput("text", text="Họp dân ở Cao Xanh"), actor=w.b_user)
        w.extra["playlist"] = do_create_playlist(
            w.tree["b"], "Bảng tin Cao Xanh", [(slide, 10)], actor=w.b_user
        )
    return w.extra["playlist"]


def _b_board(w: World) -> Any:
    """An enrolled e-bulletin board of commune B (its password in ``w.extra["board_password"]``)."""
    from loa.fleet import boards, broker
    from loa.fleet.models import Device, DeviceKind

    if "board" not in w.extra:
        w.extra["board_password"] = broker.new_password()
        w.extra["board"] = Device.objects.create(
            device_id="loa-0000000b0b0c", unit=w.tree["b"], serial="B-BT-1", kind=DeviceKind.EBOARD,
            name="Bảng tin Cao Xanh", credentials_hash=broker.hash_password(w.extra["board_password"]),
        )  # fmt: skip
        boards.ensure_screen(w.extra["board"])
    return w.extra["board"]


def _b_screenshot(w: World) -> Any:
    """A real (stored) screenshot of commune B's board."""
    import io

    from PIL import Image

    from loa.fleet import boards

    if "screenshot" not in w.extra:
        png = io.BytesIO()
        Image.new("RGB", (192, 96), (0, 90, 0)).save(png, format="PNG")
        w.extra["screenshot"] = boards.ingest_screenshot(_b_board(w), png.getvalue())
    return w.extra["screenshot"]


def _b_photo(w: World) -> str:
    """The id of a real installation photo of commune B's device."""
    import io

    from PIL import Image

    from loa.fleet import boards

    if "photo" not in w.extra:
        jpeg = io.BytesIO()
        Image.new("RGB", (64, 48), (90, 0, 0)).save(jpeg, format="JPEG")
        photo = boards.do_add_photo(_b_device(w), jpeg.getvalue(), name="Cao Xanh.jpg", actor=w.b_user)
        w.extra["photo"] = photo["id"]
    return str(w.extra["photo"])


def _b_kill_switch(w: World) -> Any:
    """A kill switch engaged on the whole of commune B."""
    from django.utils import timezone

    from loa.fleet.models import KillSwitch

    if "kill_switch" not in w.extra:
        w.extra["kill_switch"] = KillSwitch.objects.create(
            unit=w.tree["b"], scope=w.tree["b"], reason="Cao Xanh bị chiếm quyền", engaged_at=timezone.now(),
            engaged_by=w.b_user,
        )  # fmt: skip
    return w.extra["kill_switch"]


def _b_abbreviation(w: World) -> Any:
    from loa.tts.models import Abbreviation

    if "abbreviation" not in w.extra:
        w.extra["abbreviation"] = Abbreviation.objects.create(
            unit=w.tree["b"], text="CXH", reading="hội Cao Xanh"
        )
    return w.extra["abbreviation"]


def _b_feedback(w: World) -> Any:
    """A citizen's feedback about commune B, received, with a phone number and a photo row."""
    from django.utils import timezone

    from loa.citizen.models import Feedback, FeedbackCategory, FeedbackPhoto

    if "feedback" not in w.extra:
        f = Feedback.objects.create(
            unit=w.tree["b"], handling_unit=w.tree["b"], category=FeedbackCategory.objects.get(code="khac"),
            text=FEEDBACK_SECRETS[0], address=FEEDBACK_SECRETS[1], contact_kind="phone", contact=FEEDBACK_SECRETS[2],
            consent_version="test", consent_at=timezone.now(), tracking_hash="b" * 64, created_at=timezone.now(),
        )  # fmt: skip
        import io

        from PIL import Image

        from loa.citizen.feedback_photos import check_photo, store_photo

        jpeg = io.BytesIO()
        Image.new("RGB", (4, 4)).save(jpeg, format="JPEG")
        photo = check_photo(jpeg, "Cao Xanh.jpg")
        FeedbackPhoto.objects.create(feedback=f, position=1, path=store_photo(photo), sha256=photo.sha256, width=4,
                                     height=4, size=len(photo.data))  # fmt: skip
        w.extra["feedback"] = f
    return w.extra["feedback"]


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


def _assert_nothing_of_b(response: Any, where: str, markers: tuple[str, ...] = B_MARKERS) -> None:
    assert response.status_code < 500, f"{where}: server error {response.status_code}"
    body = response.content.decode("utf-8", "replace") if not getattr(response, "streaming", False) else ""
    # The page may echo the address it was asked for (a "next" field); that is not B's data.
    asked = response.wsgi_request.get_full_path()
    body = body.replace(asked, "").replace(asked.replace("&", "&amp;"), "")
    for marker in markers:
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
    _attack(world, user, f"{role} of A", client_for, token_for, B_MARKERS)


def _attack(
    world: World,
    user: User,
    role: str,
    client_for: Callable[[User], Client],
    token_for: Callable[..., str],
    markers: tuple[str, ...],
) -> None:
    """Every console page and API operation, as ``user`` (session and token), against the victim's objects:
    nothing of the victim shows, nothing changes."""
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
            where = f"{method.upper()} {url} as {role}"
            if name.startswith(PUBLIC_APP_NAMES):
                _assert_nothing_of_b(response, where, PUBLIC_APP_MARKERS)
                assert AuditEntry.objects.count() == before, f"{where}: something was changed"
                checked += 1
                continue
            _assert_nothing_of_b(response, where, markers)
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
            where = f"{method.upper()} {target} as {role}"
            _assert_nothing_of_b(
                response, where, PUBLIC_APP_MARKERS if path.startswith(PUBLIC_APP_API) else markers
            )
            if (
                not path.startswith(PUBLIC_APP_API)
                and route_params
                and any(
                    p in {"code", "unit_code", "user_id", "assignment_id", "token_id"} for p in route_params
                )
            ):
                assert response.status_code in (403, 404, 422), (
                    f"{where}: expected 403/404, got {response.status_code}"
                )
            assert AuditEntry.objects.count() == before, f"{where}: something was changed (audit log grew)"
            checked += 1
    assert checked > 20


# Two provinces in one instance (a provider renting Loa to several provinces, DESIGN §2): the victim is a commune of
# another province (46, Huế), with its own operator, zone, bulletins, media, devices, schedules and emergencies
# (the same factories), and the attackers hold roles on the whole of province 22 — province admin included.
HUE_MARKERS = ("Phú Xuân", "19768", "hue-secret-user", "Tổ dân phố Vỹ Dạ")
ROLES_IN_PROVINCE = [Role.PROVINCE_ADMIN, Role.EDITOR, Role.APPROVER, Role.AUDITOR]


@pytest.fixture
def other_province(tree: dict[str, Unit], make_user: Callable[..., User]) -> World:
    commune = tree["other_commune"]
    zone = Unit.objects.create(
        code="19768.001", name="Tổ dân phố Vỹ Dạ", kind=Kind.TO_DAN_PHO, level=Level.ZONE, parent=commune
    )
    victim = make_user("hue-secret-user", Role.COMMUNE_OPERATOR, commune)
    key = ApiToken.new_key()
    token = ApiToken.objects.create(
        user=victim, name="hue-secret-token", prefix=key[:8], key_hash=ApiToken.hash_key(key), scopes=["*"]
    )
    as_b = {**tree, "b": commune, "zone_b": zone}  # the factories build "commune B's" objects here
    assignment = RoleAssignment.objects.get(user=victim)
    return World(tree=as_b, b_user=victim, b_assignment=assignment, b_token=token, extra={})


@pytest.mark.parametrize("role", ROLES_IN_PROVINCE)
def test_users_of_one_province_cannot_see_or_change_another_province(
    role: str,
    other_province: World,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    token_for: Callable[..., str],
) -> None:
    user = make_user(f"p22-{role}", role, other_province.tree["province"])
    _attack(other_province, user, f"{role} of province 22", client_for, token_for, HUE_MARKERS)


def test_anonymous_reaches_only_public_pages(world: World) -> None:
    anonymous = Client()
    for _route, name, params in console_routes():
        url = reverse(name, kwargs=_fill(params, world, name))
        response = anonymous.get(url)
        if name in PUBLIC_NAMES or name.startswith(PUBLIC_APP_NAMES):
            assert response.status_code < 500
            _assert_nothing_of_b(response, f"GET {url} anonymously", PUBLIC_APP_MARKERS)
            continue
        if name.startswith(BOARD_PLAYER_NAMES):
            expected = (200, 404) if name in BOARD_PLAYER_PUBLIC else (401, 405)
            assert response.status_code in expected, f"GET {url} anonymously: {response.status_code}"
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
        if path.startswith(
            PUBLIC_APP_API
        ):  # published only, to anyone (422 when a required query is missing)
            assert method == "get" and response.status_code in (200, 404, 422), (
                f"GET {url}: {response.status_code}"
            )
            _assert_nothing_of_b(response, f"GET {url} anonymously", PUBLIC_APP_MARKERS)
            continue
        assert response.status_code == 401, f"{method.upper()} {url} anonymously: {response.status_code}"
        assert response.json()["error"]["code"] == "not_authenticated"


def test_owner_of_commune_b_can_read_every_page_the_matrix_denies(
    world: World, client_for: Callable[[User], Client]
) -> None:
    """The positive control: the same URLs work for B's own operator, so the denials above are real."""
    session = client_for(world.b_user)
    for _route, name, params in console_routes():
        if name in PUBLIC_NAMES or name.startswith(PUBLIC_APP_NAMES + BOARD_PLAYER_NAMES) or not params:
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


# ---- objects of other levels: the parent unit, child units and no unit ----------------------------------------
#
# Siblings are not the only neighbours. A user of a unit must not read, nor reference from their own objects
# (programme items, "play now", emergency audio), what belongs to the unit above them, to a zone of another
# commune, or to no unit at all (system assets); what belongs to their own subtree (a zone of their commune) they
# may use. Referencing is the dangerous path: a programme item or a play command names the audio by id and the
# answer (and the device) then learns its file name and sha256.

# (viewer unit, owner unit or None, allowed)
LEVEL_CASES = [
    ("a", "province", False),  # the parent unit's library
    ("a", None, False),  # an asset of no unit (system)
    ("a", "zone_b", False),  # a child unit of another commune
    ("zone_a", "a", False),  # a zone operator and their commune's library
    ("zone_a", "province", False),  # a zone operator and the province's
    ("a", "zone_a", True),  # the positive control: a zone of one's own commune
]


def _owned_objects(tree: dict[str, Unit], owner_key: str | None, owner_user: User) -> dict[str, Any]:
    """An audio asset of ``owner`` and (for a unit) a published bulletin of it, sent to commune B only."""
    from django.utils import timezone

    from loa.content.models import Bulletin, FeedItem, State
    from loa.media.models import MediaAsset

    owner = tree[owner_key] if owner_key else None
    marker = f"Riêng của {owner.name if owner else 'hệ thống'}"
    digit = "0123456789abcdef"[len(MediaAsset.objects.all()) % 16]
    asset = MediaAsset.objects.create(
        unit=owner, sha256=digit * 63 + "e", original_sha256=digit * 63 + "f", original_name=f"{marker}.mp3",
        duration_s=12.0, created_by=owner_user,
    )  # fmt: skip
    out: dict[str, Any] = {"asset": asset, "markers": (marker, asset.sha256)}
    if owner is not None:
        bulletin = Bulletin.objects.create(
            title=f"Bản tin {marker}", origin_unit=owner, produced_at=timezone.now(), created_by=owner_user,
            updated_by=owner_user, state=State.PUBLISHED, audio_asset=asset, published_at=timezone.now(),
        )  # fmt: skip
        if owner.level < tree["b"].level:
            FeedItem.objects.create(bulletin=bulletin, unit=tree["b"])  # sent down to commune B, not to A
        out["bulletin"] = bulletin
    return out


def _totp_code(user: User) -> str:
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    assert device is not None
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


@pytest.mark.parametrize(("viewer_key", "owner_key", "allowed"), LEVEL_CASES, ids=[
    f"{v}-sees-{o or 'no-unit'}" for v, o, _a in LEVEL_CASES
])  # fmt: skip
def test_objects_of_other_levels_are_neither_readable_nor_referencable(
    viewer_key: str,
    owner_key: str | None,
    allowed: bool,
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    from loa.fleet.models import Device

    owner_user = make_user("chu-so-huu", Role.PROVINCE_ADMIN, tree["province"])
    objects = _owned_objects(tree, owner_key, owner_user)
    viewer_unit = tree[viewer_key]
    Device.objects.create(device_id="loa-00000000a0a0", unit=viewer_unit, serial="A-1")
    operator = client_for(make_user("nguoi-van-hanh", Role.COMMUNE_OPERATOR, viewer_unit))
    approver_user = make_user("nguoi-duyet", Role.APPROVER, viewer_unit)
    approver = client_for(approver_user)
    asset = objects["asset"]
    code = viewer_unit.code

    def expect(response: Any, where: str, ok_status: int) -> None:
        assert response.status_code < 500, f"{where}: server error {response.status_code}"
        if allowed:
            # found and usable; a rule other than access may still decline it (unapproved audio, docs/adr/0007)
            assert response.status_code == ok_status or (
                response.status_code in (400, 409) and "not_found" not in response.json()["error"]["code"]
            ), f"{where}: {response.status_code} {response.content[:300]!r}"
            return
        assert 400 <= response.status_code < 500, (
            f"{where}: allowed ({response.status_code}), should be refused"
        )
        body = response.content.decode("utf-8", "replace")
        for marker in objects["markers"]:
            assert marker not in body, f"{where}: answer shows {marker!r}"

    def changes(client: Client, method: str, url: str, body: dict[str, Any], where: str, ok: int) -> None:
        before = AuditEntry.objects.count()
        response = getattr(client, method)(url, json.dumps(body), content_type="application/json")
        expect(response, where, ok)
        if not allowed:
            assert AuditEntry.objects.count() == before, f"{where}: something was changed (audit log grew)"

    # reading
    expect(operator.get(f"/api/v1/media/{asset.pk}"), "GET the asset", 200)
    # referencing the asset: a programme item, play now, emergency audio
    changes(operator, "post", "/api/v1/broadcast/programmes",
            {"unit": code, "title": "Chương trình", "items": [{"kind": "audio", "media_asset_id": asset.pk}]},
            "programme with the asset", 201)  # fmt: skip
    changes(
        operator,
        "post",
        "/api/v1/fleet/commands",
        {"unit": code, "action": "play", "media_asset_id": asset.pk},
        "play now of the asset",
        201,
    )
    changes(
        operator,
        "post",
        "/api/v1/fleet/commands",
        {"unit": code, "action": "play", "params": {"sha256": asset.sha256}},
        "play now by sha256",
        201,
    )
    changes(approver, "post", "/api/v1/broadcast/emergencies",
            {"unit": code, "media_asset_id": asset.pk, "totp": _totp_code(approver_user)},
            "emergency with the asset", 201)  # fmt: skip
    bulletin = objects.get("bulletin")
    if bulletin is None:
        return
    # the owner's published bulletin (sent to commune B, not to the viewer): reading and referencing
    expect(operator.get(f"/api/v1/bulletins/{bulletin.pk}"), "GET the bulletin", 200)
    changes(operator, "post", "/api/v1/broadcast/programmes",
            {"unit": code, "title": "Chương trình", "items": [{"kind": "bulletin", "bulletin_id": bulletin.pk}]},
            "programme with the bulletin", 201)  # fmt: skip
    changes(
        operator,
        "post",
        "/api/v1/fleet/commands",
        {"unit": code, "action": "play", "bulletin_id": bulletin.pk},
        "play now of the bulletin",
        201,
    )


# ---- devices: a board's credentials are good for its own endpoints only ----------------------------------------


def test_a_device_cannot_read_or_post_for_another_device(world: World, tree: dict[str, Unit]) -> None:
    """Commune A's board, with its own valid credentials, against every board endpoint of commune B's board:
    403, nothing of B shows, nothing changes (status, screenshots, command deliveries, audit log)."""
    import base64

    from loa.fleet import boards, broker
    from loa.fleet.models import BoardScreenshot, CommandDelivery, Device, DeviceKind
    from loa.fleet.services import issue_board_command

    password = broker.new_password()
    mine = Device.objects.create(
        device_id="loa-00000000a0a9", unit=tree["a"], serial="A-BT-1", kind=DeviceKind.EBOARD,
        credentials_hash=broker.hash_password(password),
    )  # fmt: skip
    boards.ensure_screen(mine)
    theirs = _b_board(world)
    their_command = issue_board_command(actor=world.b_user, action="reload", params={}, device=theirs)
    auth = {
        "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{mine.device_id}:{password}".encode()).decode()
    }
    device_ops = [
        (method, path) for method, path, _info in api_operations() if path.startswith("/api/v1/fleet/boards/")
    ]
    assert len(device_ops) >= 4, device_ops
    client = Client()
    before = (AuditEntry.objects.count(), BoardScreenshot.objects.count())
    now = "2030-01-01T00:00:00Z"
    bodies = {
        "heartbeat": {"v": 1, "device_id": theirs.device_id, "ts": now, "screen": "black", "firmware": "x"},
        "acks": {"v": 1, "command_id": str(their_command.pk), "device_id": theirs.device_id, "status": "done",
                 "at": now},
    }  # fmt: skip
    for method, path in device_ops:
        url = path.format(device_id=theirs.device_id)
        body = bodies.get(path.rsplit("/", 1)[-1])
        if body is not None:
            response = getattr(client, method)(url, json.dumps(body), content_type="application/json", **auth)
        elif method == "post":
            response = client.post(url, b"\x89PNG", content_type="image/png", **auth)
        else:
            response = getattr(client, method)(url, **auth)
        where = f"{method.upper()} {url} as commune A's board"
        assert response.status_code == 403, f"{where}: {response.status_code} {response.content[:200]!r}"
        _assert_nothing_of_b(response, where, (*B_MARKERS, "Bảng tin Cao Xanh", str(their_command.pk)))
    theirs.refresh_from_db()
    assert not theirs.online and theirs.last_status == {}
    assert CommandDelivery.objects.get(command=their_command).state == "pending"
    assert (AuditEntry.objects.count(), BoardScreenshot.objects.count()) == before

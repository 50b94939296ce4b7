"""The officer's path in the console, through the real views: a published bulletin is scheduled with the simple
form ("mỗi ngày lúc 06:00 và 17:30"), the preview shows the next plays and the guardrail verdict, and the saved
schedule's compiled manifests carry the bulletin's audio at those times. Typed text reaches neither a manifest
nor a play command before an approver (not its author) approves it — through the API and through the console
(docs/adr/0007)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.broadcast.compile import compile_manifests
from loa.broadcast.models import DeviceManifest, Guardrail, ManifestContent, Programme, Schedule
from loa.broadcast.recurrence import LOCAL_TZ
from loa.fleet.models import Command, Device
from loa.units.models import Unit
from tests.loa.content.helpers import Api  # type: ignore[import-not-found]
from tests.loa.fleet.helpers import publish_province_bulletin_with_tts  # type: ignore[import-not-found]

API = "/api/v1/broadcast"


def _entries(device: Device) -> list[dict[str, Any]]:
    m = DeviceManifest.objects.get(device=device)
    return list(ManifestContent.objects.get(digest=m.content_hash).entries)


def _local_times(entries: list[dict[str, Any]], sha256: str) -> set[str]:
    return {
        f"{dt.datetime.fromisoformat(e['start']).astimezone(LOCAL_TZ):%H:%M}"
        for e in entries
        if e.get("sha256") == sha256
    }


@pytest.fixture
def commune(
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    make_devices: Callable[[Unit, int], list[Device]],
) -> dict[str, Any]:
    bulletin = publish_province_bulletin_with_tts(tree, make_user, client_for)
    devices = make_devices(tree["a"], 2) + make_devices(tree["zone_a"], 1)
    Device.objects.filter(pk=devices[0].pk).update(name="Cụm loa chợ Hà Tu")
    operator = make_user("op-ha-tu", Role.COMMUNE_OPERATOR, tree["a"])
    approver = make_user("duyet-ha-tu", Role.APPROVER, tree["a"])
    return {"bulletin": bulletin, "devices": devices, "operator": operator, "op": client_for(operator),
            "approver": approver, "appr": client_for(approver)}  # fmt: skip


def _simple_form(bulletin_pk: int, **extra: Any) -> dict[str, Any]:
    return {"source": f"bulletin:{bulletin_pk}", "title": "", "when": "daily", "times": "06:00 và 17:30",
            "plays": "1", "gap_min": "5", "targets": ["06652"], **extra}  # fmt: skip


def test_a_published_bulletin_is_scheduled_with_the_simple_form(
    commune: dict[str, Any], client_for: Callable[[User], Client], django_capture_on_commit_callbacks: Any
) -> None:
    op, bulletin = commune["op"], commune["bulletin"]
    # the bulletin's page and the inbox offer "Lên lịch phát" with the bulletin chosen
    page = op.get(f"/bulletins/{bulletin.pk}/").content.decode()
    assert f"/broadcast/schedules/new/?bulletin={bulletin.pk}" in page and "Lên lịch phát" in page
    # in the inbox, once the commune has taken the province's bulletin
    item = bulletin.feed_items.get(unit__code="06652")
    assert 'data-action="schedule"' not in op.get("/bulletins/inbox/").content.decode()
    assert op.post(f"/bulletins/inbox/{item.pk}/take/").status_code == 302
    inbox = op.get("/bulletins/inbox/").content.decode()
    assert f'href="/broadcast/schedules/new/?bulletin={bulletin.pk}" data-action="schedule"' in inbox
    form_page = op.get(f"/broadcast/schedules/new/?bulletin={bulletin.pk}")
    assert form_page.status_code == 200
    html = form_page.content.decode()
    assert f'value="bulletin:{bulletin.pk}" selected' in html
    assert "Cụm loa chợ Hà Tu" in html and "Tổ dân phố 1" in html  # clusters by name, zones: checkboxes
    assert f'value="{commune["devices"][1].device_id}"' in html
    simple = html.split('<details class="advanced"')[0]
    for engineer_word in ("RRULE", "X (phút)", "Y (phút)", "N (số lần", "multiple"):
        assert engineer_word not in simple, engineer_word
    # every visible field has a label
    for name in re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html):
        assert f'for="{name}"' in html, name

    # preview: the next plays in local time and the verdict, nothing saved
    preview = op.post("/broadcast/schedules/preview/", _simple_form(bulletin.pk), HTTP_HX_REQUEST="true")
    assert preview.status_code == 200
    text = preview.content.decode()
    assert 'data-verdict="ok"' in text and "Trong giới hạn phát của Phường Hà Tu" in text
    starts = re.findall(r'data-start="([^"]+)"', text)
    assert len(starts) >= 4
    local = [dt.datetime.fromisoformat(s).astimezone(LOCAL_TZ) for s in starts]
    assert {f"{t:%H:%M}" for t in local} == {"06:00", "17:30"}
    assert local == sorted(local) and local[0] > dt.datetime.now(LOCAL_TZ)
    assert not Schedule.objects.exists() and not Programme.objects.exists()

    # a guardrail: the preview names it in Vietnamese; the operator cannot save it
    Guardrail.objects.create(unit=commune["devices"][0].unit, windows=[["06:30", "21:00"]])
    over = op.post("/broadcast/schedules/preview/", _simple_form(bulletin.pk)).content.decode()
    assert 'data-verdict="over"' in over and "Chỉ người duyệt mới được cho phép vượt giới hạn" in over
    refused = op.post("/broadcast/schedules/new/", _simple_form(bulletin.pk))
    assert refused.status_code == 409 and not Schedule.objects.exists() and not Programme.objects.exists()
    Guardrail.objects.all().delete()

    # save: a schedule whose compiled manifests hold the bulletin's audio at 06:00 and 17:30
    saved = op.post("/broadcast/schedules/new/", _simple_form(bulletin.pk))
    assert saved.status_code == 302, saved.content.decode()[:2000]
    schedule = Schedule.objects.get()
    assert schedule.title == bulletin.title and schedule.times == ["06:00", "17:30"]
    assert schedule.programme.state == Programme.State.APPROVED
    assert [i.bulletin_id for i in schedule.programme.items.all()] == [bulletin.pk]
    compile_manifests()
    for device in commune["devices"]:  # the commune's clusters, the zone's included
        assert _local_times(_entries(device), bulletin.audio_asset.sha256) == {"06:00", "17:30"}

    # the province cancels the bulletin: its approval is withdrawn, it leaves the manifests at once
    editor = User.objects.get(username="editor_p")
    with django_capture_on_commit_callbacks(execute=True):  # the test's transaction never commits by itself
        status, _body = Api(client_for(editor), editor).transition(bulletin.pk, "cancel")
    assert status == 200, _body
    for device in commune["devices"]:
        assert _local_times(_entries(device), bulletin.audio_asset.sha256) == set()


def test_repeat_twice_five_minutes_apart_and_chosen_clusters(commune: dict[str, Any]) -> None:
    op, bulletin, devices = commune["op"], commune["bulletin"], commune["devices"]
    # weekly on tomorrow's weekday (its 06:00 is always inside the 48-hour manifest, whatever the day and hour
    # the suite runs) and the one three days later; fixed weekdays (Mon, Thu) left nothing to play on a Friday
    tomorrow = (timezone.now().astimezone(LOCAL_TZ) + dt.timedelta(days=1)).weekday()
    weekdays = {tomorrow, (tomorrow + 3) % 7}
    form = _simple_form(bulletin.pk, times="06:00", plays="2", gap_min="5", targets=[],
                        devices=[devices[0].device_id], when="weekly",
                        weekdays=[str(d) for d in sorted(weekdays)])  # fmt: skip
    text = op.post("/broadcast/schedules/preview/", form).content.decode()
    local = [
        dt.datetime.fromisoformat(s).astimezone(LOCAL_TZ) for s in re.findall(r'data-start="([^"]+)"', text)
    ]
    assert local and {t.weekday() for t in local} <= weekdays
    # the summary speaks the form's words, not the raw "lặp mỗi X phút trong Y phút"
    every = int(max(1, -(-bulletin.audio_asset.duration_s // 60))) + 5
    assert f"phát 2 lần, các lần bắt đầu cách nhau {every} phút" in text, text
    assert "lặp mỗi" not in text
    assert op.post("/broadcast/schedules/new/", form).status_code == 302
    compile_manifests()
    length = bulletin.audio_asset.duration_s
    gap_starts = sorted(
        dt.datetime.fromisoformat(e["start"]) for e in _entries(devices[0]) if e.get("sha256")
    )
    assert gap_starts, "the chosen cluster plays it"
    first, second = gap_starts[0], gap_starts[1]
    assert (second - first).total_seconds() == pytest.approx(60 * (max(1, -(-length // 60)) + 5))
    assert not any(e.get("sha256") for e in _entries(devices[1]))  # a cluster that was not chosen


def test_typed_text_reaches_no_manifest_and_no_play_command_before_approval(
    commune: dict[str, Any], token_for: Callable[..., str], make_user: Callable[..., User],
    client_for: Callable[[User], Client], tree: dict[str, Unit],
) -> None:  # fmt: skip
    devices = commune["devices"]
    # API: a programme of typed text waits; scheduling it is refused; a schedule row written anyway stays silent
    token = token_for(commune["operator"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}", "content_type": "application/json"}
    api = Client()
    body = {
        "unit": "06652",
        "title": "Thông báo họp",
        "items": [{"kind": "tts", "text": "Mời bà con đi họp."}],
    }
    r = api.post(f"{API}/programmes", json.dumps(body), **auth)
    assert r.status_code == 201 and r.json()["state"] == "pending", r.content
    programme = Programme.objects.get(pk=r.json()["id"])
    schedule = {"unit": "06652", "programme_id": programme.pk, "title": "Họp", "kind": "daily",
                "times": ["07:00"], "target_units": ["06652"]}  # fmt: skip
    r = api.post(f"{API}/schedules", json.dumps(schedule), **auth)
    assert r.status_code == 409 and r.json()["error"]["code"] == "programme_not_approved", r.content
    # the API decision: not by its author (even an approver), then by another approver
    author = make_user("duyet-api", Role.APPROVER, tree["a"])
    own_auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(author)}", "content_type": "application/json"}
    r = api.post(
        f"{API}/programmes",
        json.dumps(
            body | {"title": "Của người duyệt", "items": [{"kind": "tts", "text": "Chiều nay họp tổ."}]}
        ),
        **own_auth,
    )
    assert r.status_code == 201 and r.json()["state"] == "pending", r.content
    own_id = r.json()["id"]
    r = api.post(f"{API}/programmes/{own_id}/decision", json.dumps({"approve": True}), **own_auth)
    assert r.status_code == 403 and r.json()["error"]["code"] == "programme_self_approval", r.content
    r = api.post(f"{API}/programmes/{own_id}/decision", json.dumps({"approve": True}), **auth)
    assert r.status_code == 403, r.content  # an operator does not approve
    other = {
        "HTTP_AUTHORIZATION": f"Bearer {token_for(commune['approver'])}",
        "content_type": "application/json",
    }
    r = api.post(f"{API}/programmes/{own_id}/decision", json.dumps({"approve": False}), **other)
    assert r.status_code == 400 and r.json()["error"]["code"] == "programme_note_required", r.content
    r = api.post(f"{API}/programmes/{own_id}/decision", json.dumps({"approve": True}), **other)
    assert r.status_code == 200 and r.json()["state"] == "approved", r.content
    forced = Schedule.objects.create(
        unit=tree["a"], programme=programme, title="Họp", kind="daily", times=["07:00"]
    )
    forced.target_units.set([tree["a"]])
    compile_manifests()
    assert (
        "Chương trình chưa được duyệt: lịch này chưa phát."
        in commune["op"].get("/broadcast/").content.decode()
    )
    tts_sha = programme.items.get().sha256
    assert all(e.get("sha256") != tts_sha for d in devices for e in _entries(d))
    # API and console: typed text never becomes a play command
    r = api.post("/api/v1/fleet/commands", json.dumps({"action": "play", "unit": "06652", "text": "Thử loa."}),
                 **auth)  # fmt: skip
    assert r.status_code == 409 and r.json()["error"]["code"] == "play_text_not_approved", r.content
    r = api.post("/api/v1/fleet/commands", json.dumps({"action": "play", "unit": "06652", "params": {"sha256": tts_sha}}),
                 **auth)  # fmt: skip
    assert r.status_code == 409 and r.json()["error"]["code"] == "play_audio_not_approved", r.content
    r = commune["op"].post("/fleet/commands/new/", {"unit": "06652", "action": "play", "text": "Thử loa."})
    assert "Văn bản gõ tay chưa được duyệt" in r.content.decode()
    assert not Command.objects.filter(action="play").exists()

    # console: the operator's typed programme waits; the schedule form does not offer it, nor accepts it
    op = commune["op"]
    r = op.post("/broadcast/programmes/new/", {"title": "Loa chiều", "text": "Chiều nay cắt nước từ 14 giờ."})
    assert r.status_code == 302
    typed = Programme.objects.get(title="Loa chiều")
    assert typed.state == Programme.State.PENDING
    assert f'value="programme:{typed.pk}"' not in op.get("/broadcast/schedules/new/").content.decode()
    form = {"source": f"programme:{typed.pk}", "when": "daily", "times": "07:00", "targets": ["06652"]}
    r = op.post("/broadcast/schedules/new/", form)
    assert r.status_code == 409 and "chưa được duyệt" in r.content.decode()
    # its author cannot approve it, even as an approver; another approver can
    author = make_user("duyet-tac-gia", Role.APPROVER, tree["a"])
    own = client_for(author)
    assert own.post("/broadcast/programmes/new/", {"title": "Của tôi", "text": "Thử."}).status_code == 302
    mine = Programme.objects.get(title="Của tôi")
    own.post(f"/broadcast/programmes/{mine.pk}/decide/", {"decision": "approve"})
    mine.refresh_from_db()
    assert mine.state == Programme.State.PENDING
    listing = commune["appr"].get("/broadcast/programmes/").content.decode()
    assert "Chiều nay cắt nước từ 14 giờ." in listing  # the approver reads what will be said
    commune["appr"].post(f"/broadcast/programmes/{typed.pk}/decide/", {"decision": "approve"})
    typed.refresh_from_db()
    assert typed.state == Programme.State.APPROVED and typed.decided_by == commune["approver"]
    assert op.post("/broadcast/schedules/new/", form).status_code == 302
    compile_manifests()
    assert _local_times(_entries(devices[1]), typed.items.get().sha256) == {"07:00"}


def test_a_province_schedules_on_chosen_communes(commune: dict[str, Any], make_user: Callable[..., User],
                                                 client_for: Callable[[User], Client]) -> None:  # fmt: skip
    admin = client_for(make_user("qt-tinh", Role.PROVINCE_ADMIN, Unit.objects.get(code="22")))
    bulletin = commune["bulletin"]
    html = admin.get(f"/broadcast/schedules/new/?bulletin={bulletin.pk}").content.decode()
    assert "Hoặc chỉ các xã, phường" in html and 'name="targets" value="06658"' in html
    form = _simple_form(bulletin.pk, targets=["06652"])
    assert admin.post("/broadcast/schedules/new/", form).status_code == 302
    compile_manifests()
    assert _local_times(_entries(commune["devices"][0]), bulletin.audio_asset.sha256) == {"06:00", "17:30"}


def test_boards_are_not_offered_as_loudspeakers(commune: dict[str, Any]) -> None:
    from loa.fleet.models import DeviceKind

    board = commune["devices"][1]
    Device.objects.filter(pk=board.pk).update(kind=DeviceKind.EBOARD, name="Bảng tin trụ sở")
    html = commune["op"].get(f"/broadcast/schedules/new/?bulletin={commune['bulletin'].pk}").content.decode()
    assert "Cụm loa chợ Hà Tu" in html and f'value="{board.device_id}"' not in html
    overview = commune["op"].get("/broadcast/").content.decode()  # "Xem một cụm loa" lists loudspeakers only
    assert (
        f'value="{commune["devices"][0].device_id}"' in overview
        and f'value="{board.device_id}"' not in overview
    )
    # nor taken when posted anyway
    form = _simple_form(
        commune["bulletin"].pk, targets=[], devices=[board.device_id, commune["devices"][0].device_id]
    )
    assert commune["op"].post("/broadcast/schedules/new/", form).status_code == 302
    assert [d.device_id for d in Schedule.objects.get().target_devices.all()] == [
        commune["devices"][0].device_id
    ]

"""Helpers of the "play now" tests: a province bulletin with TTS audio, published through the bulletin API."""

from __future__ import annotations

from typing import Any

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.content.models import Bulletin
from tests.loa.content.helpers import Api, notice  # type: ignore[import-not-found]


def _user(make_user: Any, username: str, role: str, unit: Any) -> User:
    found = User.objects.filter(username=username).first()
    return found if found is not None else make_user(username, role, unit)


def publish_province_bulletin_with_tts(
    tree: dict,
    make_user: Any,
    client_for: Any,
    *,
    receivers: list[str] | None = None,
    priority: int = 3,
    title: str = "Thông báo cắt điện",
    suffix: str = "",
) -> Bulletin:
    """Through the bulletin API: an editor of the province writes, makes audio (TTS), submits; an approver
    approves and publishes it (to commune A unless ``receivers`` says otherwise)."""
    editor = Api(client_for(u := _user(make_user, f"editor_p{suffix}", Role.EDITOR, tree["province"])), u)
    approver = Api(client_for(u := _user(make_user, f"appr_p{suffix}", Role.APPROVER, tree["province"])), u)
    body = notice(
        tree["province"].code,
        receivers or [tree["a"].code],
        title=title,
        summary="Cắt điện chiều nay.",
        body="Chiều nay, từ 14h đến 15h, cắt điện để sửa đường dây.",
        priority=priority,
    )
    status, b = editor.post("", body)
    assert status == 201, b
    status, b = editor.post(f"/{b['id']}/audio")
    assert status == 200 and b["audio_asset_id"], b
    assert editor.transition(b["id"], "submit")[0] == 200
    assert approver.transition(b["id"], "approve")[0] == 200
    status, b = approver.transition(b["id"], "publish")
    assert status == 200 and b["state"] == "published", b
    return Bulletin.objects.select_related("audio_asset").get(pk=b["id"])


def send_from_console(client: Any, data: dict[str, str]) -> Any:
    """The console's "send a command" to an area, as an operator does it: the form, then its confirmation page
    (which names the devices it reaches), then "Gửi". Returns the confirmation's answer (302 when sent); when the
    form is refused before its confirmation, that refusal."""
    import re

    first = client.post("/fleet/commands/new/", data)
    page = first.content.decode()
    if first.status_code != 200 or 'id="command-confirm"' not in page:
        return first
    shown = re.search(r'name="devices" value="(\d+)"', page)
    confirmation = re.search(r'name="confirmation" value="([0-9a-f]+)"', page)
    assert shown is not None and confirmation is not None, page[:2000]
    return client.post(
        "/fleet/commands/new/",
        {**data, "step": "confirm", "devices": shown.group(1), "confirmation": confirmation.group(1)},
    )

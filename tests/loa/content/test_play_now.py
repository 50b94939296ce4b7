"""The bulletin page's "Phát ngay" link: to the fleet's play-now form, with the bulletin chosen."""

from __future__ import annotations

import re

from tests.loa.content.helpers import People, notice  # type: ignore[import-not-found]


def _link(html: str) -> str | None:
    match = re.search(r'<a class="button" href="([^"]+)" id="play-now-link">', html)
    return match.group(1).replace("&amp;", "&") if match else None


def test_play_now_link_on_a_published_bulletin_for_who_may_control_devices(people: People) -> None:
    op = people["op_a"]
    status, b = op.post("", notice("06652", ["06652"]))
    assert status == 201
    # a draft cannot be played: no link
    draft = op.client.get(f"/bulletins/{b['id']}/").content.decode()
    assert _link(draft) is None and "Phát ngay" not in draft
    op.transition(b["id"], "submit")
    people["appr_a"].transition(b["id"], "approve")
    status, got = op.transition(b["id"], "publish")
    assert status == 200, got
    assert got["state"] == "published"

    page = op.client.get(f"/bulletins/{b['id']}/").content.decode()
    url = _link(page)
    assert url == f"/fleet/commands/new/?action=play&bulletin_id={b['id']}"
    assert "Phát ngay" in page
    # following it shows the command form with "play" and this bulletin chosen
    form = op.client.get(url)
    assert form.status_code == 200
    html = form.content.decode()
    assert re.search(r'<option value="play"\s+selected>', html)
    assert re.search(rf'<option value="{b["id"]}"\s+selected>', html)

    # who may not control any speaker sees the bulletin but no link
    for key in ("viewer_a", "appr_a"):
        other = people[key].client.get(f"/bulletins/{b['id']}/").content.decode()
        assert _link(other) is None and "Phát ngay" not in other

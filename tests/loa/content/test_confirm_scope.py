"""Publishing, cancelling a bulletin and declining a province bulletin ask first, naming what they reach (counts
computed by the server); the POST that does it carries the confirmation. Destructive buttons stand apart."""

from __future__ import annotations

from typing import Any

import pytest

from loa.content.models import Bulletin, FeedItem
from loa.fleet.models import Device
from loa.units.models import Unit
from loa_protocol.topics import new_device_id
from tests.loa.content.helpers import People, notice  # type: ignore[import-not-found]

pytestmark = pytest.mark.django_db


def _clusters(unit: Unit, n: int) -> None:
    Device.objects.bulk_create(
        [Device(device_id=new_device_id(), unit=unit, serial=f"C-{unit.code}-{i}") for i in range(n)]
    )


def _approved(people: People, priority: int) -> Bulletin:
    status, b = people["editor_p"].post("", notice("22", ["22"], title="Cảnh báo rét đậm", priority=priority))
    assert status == 201, b
    assert people["editor_p"].transition(b["id"], "submit")[0] == 200
    assert people["appr_p"].transition(b["id"], "approve")[0] == 200
    return Bulletin.objects.get(pk=b["id"])


@pytest.fixture
def clusters(people: People) -> dict[str, Any]:
    _clusters(people.tree["a"], 3)
    _clusters(people.tree["zone_a"], 2)
    _clusters(people.tree["b"], 4)
    _clusters(people.tree["other_commune"], 7)  # another province: never counted
    return {}


def test_publishing_a_priority_bulletin_names_the_communes_and_the_clusters_it_plays_on(
    people: People, clusters: dict[str, Any]
) -> None:
    b = _approved(people, priority=2)
    client = people["appr_p"].client
    page = client.get(f"/bulletins/{b.pk}/").content.decode()
    assert 'data-action="publish"' in page
    r = client.post(f"/bulletins/{b.pk}/transition/", {"name": "publish", "version": str(b.version)})
    html = r.content.decode()
    assert r.status_code == 200
    assert "Phát hành tới 2 xã/phường" in html
    assert "Bản tin ưu tiên sẽ tự phát ngay trên 9 cụm loa của 2 xã/phường" in html
    b.refresh_from_db()
    assert b.state == "approved"  # nothing happened yet
    r = client.post(
        f"/bulletins/{b.pk}/transition/", {"name": "publish", "version": str(b.version), "confirm": "1"}
    )
    assert r.status_code == 302
    b.refresh_from_db()
    assert b.state == "published"


def test_cancelling_a_published_bulletin_asks_first_and_stands_apart(
    people: People, clusters: dict[str, Any]
) -> None:
    b = _approved(people, priority=3)
    assert people["appr_p"].transition(b.pk, "publish")[0] == 200
    client = people["editor_p"].client
    page = client.get(f"/bulletins/{b.pk}/").content.decode()
    actions = page.split('id="actions"')[1].split("</section>")[0]
    assert 'data-action="cancel"' not in actions  # not among the everyday buttons
    zone = page.split('id="danger-zone"')[1].split("</div>")[0]
    assert 'data-action="cancel" class="danger"' in zone
    r = client.post(f"/bulletins/{b.pk}/transition/", {"name": "cancel"})
    html = r.content.decode()
    assert "Bản tin bị rút khỏi 2 xã/phường và dừng phát trên 9 cụm loa của các xã đó." in html
    b.refresh_from_db()
    assert b.state == "published"
    client.post(f"/bulletins/{b.pk}/transition/", {"name": "cancel", "confirm": "1"})
    b.refresh_from_db()
    assert b.state == "cancelled"


def test_declining_a_province_bulletin_asks_first(people: People) -> None:
    b = _approved(people, priority=3)
    assert people["appr_p"].transition(b.pk, "publish")[0] == 200
    item = FeedItem.objects.get(bulletin=b, unit=people.tree["a"])
    client = people["op_a"].client
    r = client.post(f"/bulletins/inbox/{item.pk}/decline/", {"note": "Không phù hợp"})
    html = r.content.decode()
    assert "Phường Hà Tu sẽ không nhận bản tin “Cảnh báo rét đậm”" in html
    assert 'value="Không phù hợp"' in html
    item.refresh_from_db()
    assert item.state == "new"
    client.post(f"/bulletins/inbox/{item.pk}/decline/", {"note": "Không phù hợp", "confirm": "1"})
    item.refresh_from_db()
    assert item.state == "declined" and item.note == "Không phù hợp"

"""Staff and the citizen's personal data (Decree 13/2023, Law 91/2025), role by role: the place (address, pin) and
the photos are shown to those who handle the feedback, the phone or e-mail to those who also hold
``feedback.personal_data``, masked for everyone else who may see it; each look at a photo or at the contact is an
audit entry naming who looked and nothing of the citizen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.citizen.models import Feedback
from loa.units.models import Unit
from tests.loa.citizen.feedback_helpers import FORM, photo_with_gps, submit  # type: ignore[import-not-found]

pytestmark = pytest.mark.django_db

CONTACT = "0912345678"
ADDRESS = FORM["address"]

# role, unit key, detail page status, sees the place, photo status, contact status
ROLES = [
    (Role.COMMUNE_OPERATOR, "a", 200, True, 200, 200),
    (Role.APPROVER, "a", 200, True, 200, 403),
    (Role.PROVINCE_ADMIN, "province", 200, True, 200, 200),
    (Role.SYSTEM_ADMIN, None, 200, True, 200, 200),
    (Role.EDITOR, "a", 200, False, 403, 403),
    (Role.AUDITOR, "a", 200, False, 403, 403),
    (Role.VIEWER, "a", 200, False, 403, 403),
    (Role.TECHNICIAN, "a", 404, False, 404, 404),
    (Role.COMMUNE_OPERATOR, "b", 404, False, 404, 404),
    (Role.PROVINCE_ADMIN, "other", 404, False, 404, 404),
]


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.parametrize(
    ("role", "where", "page_status", "sees_place", "photo_status", "contact_status"), ROLES
)
def test_personal_data_by_role_and_every_look_audited(
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    role: str,
    where: str | None,
    page_status: int,
    sees_place: bool,
    photo_status: int,
    contact_status: int,
) -> None:
    response = submit(Client(), tree["a"].code, photos=[photo_with_gps()], contact=CONTACT)
    assert response.status_code == 302, response.content.decode()[:2000]
    feedback = Feedback.objects.get()
    unit = tree[where] if where else None
    user = make_user("nguoi-xem", role, unit)
    staff = client_for(user)

    page = staff.get(f"/feedback/{feedback.pk}/?anh=1")
    assert page.status_code == page_status
    html = page.content.decode()
    assert CONTACT not in html, "the contact is never on the page before the audited click"
    if page_status == 200:
        assert (ADDRESS in html) is sees_place and ("20.951" in html) is sees_place
        assert ("fb-place-masked" in html) is not sees_place
        assert (f"/feedback/{feedback.pk}/anh/1/" in html) is sees_place
        assert ("fb-photos-masked" in html) is not sees_place
        assert FORM["text"] in html  # what the feedback is about: every role that may see it

    photo = staff.get(f"/feedback/{feedback.pk}/anh/1/")
    assert photo.status_code == photo_status
    contact = staff.post(f"/feedback/{feedback.pk}/lien-he/")
    assert contact.status_code == contact_status
    assert (CONTACT in contact.content.decode()) is (contact_status == 200)

    looks = AuditEntry.objects.filter(
        object_id=str(feedback.pk), action__in=("feedback.photos_viewed", "feedback.contact_viewed")
    )
    expected = [a for a, ok in (("feedback.photos_viewed", photo_status == 200),
                                ("feedback.contact_viewed", contact_status == 200)) if ok]  # fmt: skip
    assert sorted(looks.values_list("action", flat=True)) == sorted(expected)
    for entry in looks:
        assert entry.actor_label == "nguoi-xem"
        assert CONTACT not in entry.message + str(entry.data) and ADDRESS not in entry.message + str(
            entry.data
        )


def test_the_photos_are_shown_only_after_a_click_and_each_fetch_is_one_entry(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    submit(Client(), tree["a"].code, photos=[photo_with_gps(), photo_with_gps(320, 240)])
    feedback = Feedback.objects.get()
    staff = client_for(make_user("op-a", Role.COMMUNE_OPERATOR, tree["a"]))
    first = staff.get(f"/feedback/{feedback.pk}/").content.decode()
    assert f"/feedback/{feedback.pk}/anh/1/" not in first and "fb-show-photos" in first
    assert "Xem 2 ảnh người dân gửi (được ghi nhật ký)" in first
    shown = staff.get(f"/feedback/{feedback.pk}/?anh=1").content.decode()
    assert f"/feedback/{feedback.pk}/anh/2/" in shown
    for n in (1, 2, 1):
        assert staff.get(f"/feedback/{feedback.pk}/anh/{n}/").status_code == 200
    entries = AuditEntry.objects.filter(action="feedback.photos_viewed", object_id=str(feedback.pk))
    assert [e.data["photo"] for e in entries.order_by("pk")] == [1, 2, 1]

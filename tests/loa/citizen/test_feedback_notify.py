"""A citizen learns that their feedback moved: the browser registered from the tracking page gets a Web Push (on the
loopback push service, decrypted with the browser's own key) for each status change staff make, with the answer
once it is public; nothing of what the citizen wrote; gone browsers are dropped; erasing the data drops them all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.citizen.models import Feedback, FeedbackPush, Status
from loa.units.models import Unit
from tests.loa.alerts.conftest import push_service  # noqa: F401  # type: ignore[import-not-found]
from tests.loa.citizen.feedback_helpers import FORM, submit, token_of  # type: ignore[import-not-found]
from tests.push_service import Browser, PushService

pytestmark = pytest.mark.django_db

ANSWER = "Tổ vệ sinh đã thu gom toàn bộ rác ở đầu ngõ 12 sáng thứ Bảy và đặt biển cấm đổ rác tại chỗ."


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def _submitted(commune: Unit) -> tuple[Feedback, str]:
    response = submit(Client(), commune.code)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Feedback.objects.latest("pk"), token_of(response)


def _follow(token: str, browser: Browser, lang: str = "vi") -> Any:
    return Client().post(
        f"/congdan/phan-anh/theo-doi/{token}/thong-bao/",
        {"subscription": browser.subscription, "lang": lang},
        content_type="application/json",
    )


def _step(client: Client, feedback: Feedback, to: str, capture: Any, **fields: str) -> None:
    with capture(execute=True):
        response = client.post(f"/feedback/{feedback.pk}/chuyen/", {"to": to, **fields})
    assert response.status_code == 302, response


def test_each_step_staff_take_is_pushed_to_the_citizens_browser_with_the_published_answer(
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    push_service: PushService,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    feedback, token = _submitted(tree["a"])
    phone, laptop = push_service.browser(), push_service.browser()
    first = _follow(token, phone)
    assert first.status_code == 201, first.content.decode()
    assert (
        first.json()["message"]
        == f"Đã bật thông báo: bạn sẽ được báo khi phản ánh {feedback.number} có bước xử lý mới."
    )
    assert _follow(token, phone).status_code == 200  # the same browser again: refreshed, not doubled
    assert _follow(token, laptop, lang="en").status_code == 201
    assert FeedbackPush.objects.filter(feedback=feedback).count() == 2

    operator = client_for(make_user("op-a", Role.COMMUNE_OPERATOR, tree["a"]))
    _step(operator, feedback, "acknowledged", django_capture_on_commit_callbacks)
    _step(operator, feedback, "assigned", django_capture_on_commit_callbacks, unit_code=tree["a"].code)
    _step(operator, feedback, "answered", django_capture_on_commit_callbacks, answer=ANSWER)
    _step(operator, feedback, "published", django_capture_on_commit_callbacks)

    got = [phone.decrypt(m.body) for m in push_service.to(phone.token)]
    assert [p["status"] for p in got] == ["acknowledged", "assigned", "answered", "published"]
    assert all(p["type"] == "feedback" and p["id"] == feedback.pk for p in got)
    assert got[0]["title"] == f"Phản ánh {feedback.number}: Đã tiếp nhận"
    assert got[-1]["title"] == f"Phản ánh {feedback.number}: Đã công khai trả lời"
    assert got[-1]["body"] == ANSWER
    assert ANSWER not in got[2]["body"], "an answer not yet published is not sent"
    for p in got:  # nothing the citizen wrote, no tracking link
        assert FORM["text"][:20] not in str(p) and "Ngõ 12, tổ dân phố 1" not in str(p)
        assert token not in str(p) and "url" not in p
    in_english = [laptop.decrypt(m.body) for m in push_service.to(laptop.token)]
    assert in_english[-1]["title"] == f"Feedback {feedback.number}: Answer published"
    headers = push_service.to(phone.token)[-1].headers
    assert (headers["Urgency"], headers["Topic"]) == ("normal", f"loa-pa-{feedback.pk}")
    entries = AuditEntry.objects.filter(action="feedback.pushed", object_id=str(feedback.pk))
    assert entries.count() == 4 and entries.last().data["delivered"] == 2  # type: ignore[union-attr]

    # the tracking page shows the history and the answer, and takes the rating
    citizen = Client()
    page = citizen.get(f"/congdan/phan-anh/theo-doi/{token}/").content.decode()
    assert ANSWER in page and "Đã tiếp nhận" in page and "Đã chuyển đơn vị xử lý" in page
    citizen.post(f"/congdan/phan-anh/theo-doi/{token}/danh-gia/", {"rating": "4"})
    feedback.refresh_from_db()
    assert feedback.rating == 4

    # the citizen's own reopening is not pushed back to them; a gone browser is dropped at the next push
    before = push_service.count
    citizen.post(f"/congdan/phan-anh/theo-doi/{token}/mo-lai/", {"note": "Rác lại bị đổ"})
    assert push_service.count == before
    push_service.script(laptop.token, [410])
    _step(operator, feedback, "answered", django_capture_on_commit_callbacks, answer=ANSWER + " Lần hai.")
    assert list(FeedbackPush.objects.filter(feedback=feedback).values_list("endpoint", flat=True)) == [
        phone.endpoint
    ]


def test_follow_refusals_and_erasure_drops_the_browsers(
    tree: dict[str, Unit],
    push_service: PushService,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    feedback, token = _submitted(tree["a"])
    browser = push_service.browser()
    bad = Client().post(
        f"/congdan/phan-anh/theo-doi/{token}/thong-bao/",
        {"subscription": {**browser.subscription, "endpoint": "https://evil.example/x"}},
        content_type="application/json",
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "endpoint_not_push_service"
    as_form = Client().post(f"/congdan/phan-anh/theo-doi/{token}/thong-bao/", {"subscription": "x"})
    assert as_form.status_code == 415
    assert _follow("khong-co-that-" + "x" * 20, browser).status_code == 404
    for _ in range(3):
        assert _follow(token, push_service.browser()).status_code == 201
    fourth = _follow(token, browser)
    assert fourth.status_code == 409 and fourth.json()["error"]["code"] == "too_many_browsers"
    off = Client().post(
        f"/congdan/phan-anh/theo-doi/{token}/tat-thong-bao/",
        {"endpoint": FeedbackPush.objects.filter(feedback=feedback).first().endpoint},  # type: ignore[union-attr]
        content_type="application/json",
    )
    assert off.json()["removed"] == 1
    Client().post(f"/congdan/phan-anh/theo-doi/{token}/xoa/", {"confirm": "yes"})
    assert not FeedbackPush.objects.filter(feedback=feedback).exists()
    gone = _follow(token, browser)
    assert gone.status_code == 410 and "đã xoá theo yêu cầu" in gone.json()["error"]["message"]
    feedback.refresh_from_db()
    assert feedback.status == Status.RECEIVED

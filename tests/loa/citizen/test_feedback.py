"""Citizens' feedback: the form (photos without EXIF, bad input in Vietnamese, flooding, duplicates), the workflow
through one do_feedback_transition, who sees what, the citizen's tracking link (verify, rate, reopen once, export, delete),
deadlines in working hours with escalation in injected time, retention and the public statistics."""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from PIL import Image

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.citizen.feedback_calendar import add_working_hours, working_hours_between
from loa.citizen.feedback_photos import photo_file
from loa.citizen.feedback_privacy import run_retention
from loa.citizen.feedback_workflow import do_feedback_transition, do_sla_sweep
from loa.citizen.models import CalendarDay, Feedback, RoutingRule, Status
from loa.jobs import periodic
from loa.units.models import Unit
from tests.loa.citizen.feedback_helpers import (  # type: ignore[import-not-found]
    has_exif,
    noise_png,
    photo_with_gps,
    submit,
    token_of,
)

VN = dt.timezone(dt.timedelta(hours=7))
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def _submitted(client: Client, commune: Unit, **fields: Any) -> tuple[Feedback, str]:
    response = submit(client, commune.code, **fields)
    assert response.status_code == 302, response.content.decode()[:3000]
    token = token_of(response)
    return Feedback.objects.latest("pk"), token


# ---- the form ----------------------------------------------------------------------------------------------
def test_a_photo_is_stored_without_exif_and_the_feedback_goes_to_the_commune(tree: dict[str, Unit]) -> None:
    original = photo_with_gps()
    assert has_exif(original), "the test photo carries EXIF with GPS"
    client = Client(REMOTE_ADDR="203.0.113.5")
    feedback, token = _submitted(client, tree["a"], photos=[original])
    assert feedback.status == Status.RECEIVED and feedback.handling_unit == tree["a"]
    assert feedback.latitude == pytest.approx(20.951) and feedback.contact == ""
    stored = photo_file(feedback.photos.get().path).read_bytes()
    assert not has_exif(stored) and b"PhoneMaker" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and image.size == (640, 480)
    assert AuditEntry.objects.filter(action="feedback.submitted", object_id=str(feedback.pk)).exists()
    page = client.get(f"/congdan/phan-anh/theo-doi/{token}/")
    assert page.status_code == 200 and "Hãy lưu đường liên kết này" in page.content.decode()
    assert page["Referrer-Policy"] == "same-origin"
    assert client.get(f"/congdan/phan-anh/theo-doi/{token}/anh/1/").status_code == 200


def test_the_consent_text_is_shown_before_anything_is_taken(tree: dict[str, Unit]) -> None:
    body = Client().get(f"/congdan/phan-anh/?xa={tree['a'].code}").content.decode()
    assert body.index("Mục đích sử dụng thông tin") < body.index('name="text"') < body.index('name="contact"')
    assert "91/2025/QH15" in body
    refused = submit(Client(), tree["a"].code, consent="")
    assert refused.status_code == 400 and "đồng ý với mục đích" in refused.content.decode()
    assert not Feedback.objects.exists()


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"text": "   "}, 400, "Hãy viết nội dung phản ánh"),
        ({"category": ""}, 400, "Hãy chọn lĩnh vực phản ánh"),
        (
            {"latitude": "", "longitude": "", "address": ""},
            400,
            "Hãy chấm vị trí trên bản đồ hoặc ghi địa chỉ",
        ),
        ({"latitude": "91", "longitude": "200"}, 400, "Vị trí trên bản đồ không hợp lệ"),
        ({"contact": "gọi tôi"}, 400, "Số điện thoại hoặc e-mail không hợp lệ"),
        ({"xa": "99999"}, 400, "Hãy chọn xã, phường nơi cần phản ánh"),
    ],
)
def test_bad_input_gets_a_clear_vietnamese_message(
    tree: dict[str, Unit], fields: dict[str, str], status: int, message: str
) -> None:
    data = dict(fields)
    commune = data.pop("xa", tree["a"].code)
    response = submit(Client(), commune, **data)
    assert response.status_code == status
    assert message in response.content.decode()
    assert not Feedback.objects.exists()


def test_fake_and_huge_photos_are_refused_and_nothing_is_kept(tree: dict[str, Unit], settings: Any) -> None:
    fake = b"<?php echo 'not a photo'; ?>" * 10
    response = submit(Client(), tree["a"].code, photos=[fake])
    assert (
        response.status_code == 400 and "không phải là ảnh JPEG, PNG hoặc WebP" in response.content.decode()
    )
    settings.LOA_FEEDBACK_MAX_PHOTO_BYTES = 50_000
    big = noise_png(400, 400)
    assert len(big) > 50_000
    response = submit(Client(), tree["a"].code, photos=[big])
    assert response.status_code == 400 and "vượt giới hạn" in response.content.decode()
    settings.LOA_FEEDBACK_MAX_PHOTO_BYTES = 8 * 1024 * 1024
    settings.LOA_FEEDBACK_MAX_PIXELS = 1_000_000
    response = submit(Client(), tree["a"].code, photos=[photo_with_gps(2000, 1000)])
    assert response.status_code == 400 and "quá lớn (2000×1000 điểm ảnh)" in response.content.decode()
    assert not Feedback.objects.exists()
    assert (
        not list((settings.MEDIA_ROOT / "feedback").rglob("*.jpg"))
        if (settings.MEDIA_ROOT / "feedback").exists()
        else True
    )


def test_flooding_from_one_address_is_refused_per_hour(tree: dict[str, Unit], settings: Any) -> None:
    settings.LOA_FEEDBACK_RATE = (3, 10)
    flooder = Client(REMOTE_ADDR="198.51.100.7")
    for n in range(3):
        text = f"Đèn đường số {n} ở tổ 1 bị hỏng nhiều ngày."
        assert submit(flooder, tree["a"].code, text=text, latitude=f"20.9{n}").status_code == 302
    response = submit(
        flooder, tree["a"].code, text="Đèn đường số 99 ở tổ 1 bị hỏng nhiều ngày.", latitude="21.5"
    )
    assert response.status_code == 429
    assert "Bạn đã gửi 3 phản ánh trong một giờ qua. Vui lòng thử lại sau" in response.content.decode()
    other = Client(REMOTE_ADDR="198.51.100.8")
    assert submit(other, tree["a"].code, text="Đèn đường số 99 ở tổ 1 bị hỏng nhiều ngày.").status_code == 302
    assert Feedback.objects.count() == 4


def test_the_same_text_or_pin_again_is_a_duplicate(tree: dict[str, Unit]) -> None:
    _submitted(Client(REMOTE_ADDR="192.0.2.1"), tree["a"])
    again = submit(Client(REMOTE_ADDR="192.0.2.2"), tree["a"].code, text=" RÁC THẢI đổ trộm ở đầu ngõ 12 đã ba ngày "
                   "chưa được thu gom bốc mùi!!")  # fmt: skip
    assert again.status_code == 409 and "trùng với phản ánh PA-" in again.content.decode()
    same_pin = submit(
        Client(REMOTE_ADDR="192.0.2.1"), tree["a"].code, text="Vẫn còn rác ở chỗ cũ, chưa ai dọn."
    )
    assert same_pin.status_code == 409
    assert Feedback.objects.count() == 1


def test_the_contact_is_verified_by_a_code_the_log_sender_writes(
    tree: dict[str, Unit], caplog: pytest.LogCaptureFixture, django_capture_on_commit_callbacks: Any
) -> None:
    client = Client()
    with (
        caplog.at_level(logging.WARNING, logger="loa.citizen.codes"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        feedback, token = _submitted(client, tree["a"], contact="0912 345 678")
    assert feedback.contact == "0912345678" and feedback.contact_verified_at is None
    line = caplog.records[-1].getMessage()
    code = line.rsplit(" ", 1)[-1]
    assert len(code) == 6 and code.isdigit()
    # the log holds no citizen's number (Decree 13/2023): masked there and on the tracking page alike
    assert "0912345678" not in line and "091••••678" in line
    assert (
        "Chúng tôi đã gửi mã 6 chữ số tới 091••••678."
        in client.get(f"/congdan/phan-anh/theo-doi/{token}/").content.decode()
    )
    wrong = "000000" if code != "000000" else "111111"
    client.post(f"/congdan/phan-anh/theo-doi/{token}/xac-minh/", {"code": wrong})
    assert "Mã xác minh không đúng" in client.get(f"/congdan/phan-anh/theo-doi/{token}/").content.decode()
    client.post(f"/congdan/phan-anh/theo-doi/{token}/xac-minh/", {"code": code})
    feedback.refresh_from_db()
    assert feedback.contact_verified_at is not None


# ---- who sees what -----------------------------------------------------------------------------------------
def test_only_the_competent_commune_sees_it_and_the_contact_is_audited(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    feedback, _token = _submitted(Client(), tree["a"], contact="ban@example.vn")
    mine = client_for(make_user("op-a", Role.COMMUNE_OPERATOR, tree["a"]))
    other = client_for(make_user("op-b", Role.COMMUNE_OPERATOR, tree["b"]))
    viewer = client_for(make_user("xem-a", Role.VIEWER, tree["a"]))
    assert feedback.number in mine.get("/feedback/").content.decode()
    assert feedback.number not in other.get("/feedback/").content.decode()
    assert other.get(f"/feedback/{feedback.pk}/").status_code == 404
    assert other.post(f"/feedback/{feedback.pk}/lien-he/").status_code == 404
    page = mine.get(f"/feedback/{feedback.pk}/").content.decode()
    assert "ban@example.vn" not in page
    assert viewer.post(f"/feedback/{feedback.pk}/lien-he/").status_code == 403
    shown = mine.post(f"/feedback/{feedback.pk}/lien-he/")
    assert "ban@example.vn" in shown.content.decode()
    entry = AuditEntry.objects.get(action="feedback.contact_viewed")
    assert entry.actor_label == "op-a" and entry.object_id == str(feedback.pk)


def test_the_csv_export_carries_no_contact_and_no_formula(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    feedback, _ = _submitted(
        Client(), tree["a"], contact="0912345678", text='=HYPERLINK("http://x") đèn hỏng ở tổ 1'
    )
    operator = client_for(make_user("op-a", Role.COMMUNE_OPERATOR, tree["a"]))
    response = operator.get("/feedback/xuat.csv?trang_thai=all")
    body = response.content.decode("utf-8-sig")
    assert response.status_code == 200 and feedback.number in body
    assert "0912345678" not in body and "Ngõ 12" not in body and "20.951" not in body
    assert "'=HYPERLINK" in body
    other = client_for(make_user("op-b", Role.COMMUNE_OPERATOR, tree["b"]))
    assert feedback.number not in other.get("/feedback/xuat.csv?trang_thai=all").content.decode("utf-8-sig")


def test_routing_rules_send_a_category_to_the_province(tree: dict[str, Unit]) -> None:
    from loa.citizen.models import FeedbackCategory

    loud = FeedbackCategory.objects.get(code="loa-truyen-thanh")
    RoutingRule.objects.create(category=loud, area=tree["province"], target=tree["province"])
    feedback, _ = _submitted(Client(), tree["b"], category="loa-truyen-thanh")
    assert feedback.handling_unit == tree["province"]


# ---- the whole way, through the views ---------------------------------------------------------------------
def _step(client: Client, feedback: Feedback, to: str, **fields: str) -> Any:
    response = client.post(f"/feedback/{feedback.pk}/chuyen/", {"to": to, **fields})
    assert response.status_code == 302, response
    return response


def test_from_received_to_a_published_answer_rated_and_reopened_once(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    citizen = Client()
    feedback, token = _submitted(citizen, tree["a"])
    operator = client_for(make_user("op-a", Role.COMMUNE_OPERATOR, tree["a"]))
    public = f"/congdan/phan-anh/tra-loi/{feedback.pk}/"
    assert Client().get(public).status_code == 404
    _step(operator, feedback, "acknowledged")
    _step(operator, feedback, "classified", category_code="moi-truong")
    _step(operator, feedback, "assigned", unit_code=tree["zone_a"].code)
    _step(operator, feedback, "in_progress")
    too_short = operator.post(f"/feedback/{feedback.pk}/chuyen/", {"to": "answered", "answer": "Đã xử lý."})
    assert too_short.status_code == 302
    feedback.refresh_from_db()
    assert feedback.status == Status.IN_PROGRESS
    answer = "Tổ vệ sinh đã thu gom toàn bộ rác ở đầu ngõ 12 sáng 6/12 và đặt biển cấm đổ rác."
    _step(operator, feedback, "answered", answer=answer)
    assert Client().get(public).status_code == 404, "an answer is public only once published"
    _step(operator, feedback, "published", public_summary="Rác thải ở đầu ngõ 12 chưa được thu gom.")
    page = Client().get(public).content.decode()
    assert answer in page and "Rác thải ở đầu ngõ 12" in page
    for private in ("Ngõ 12, tổ dân phố 1", "20.951", "anh-0"):
        assert private not in page
    tracking = citizen.get(f"/congdan/phan-anh/theo-doi/{token}/").content.decode()
    assert answer in tracking
    citizen.post(f"/congdan/phan-anh/theo-doi/{token}/danh-gia/", {"rating": "2", "comment": "Chưa sạch"})
    citizen.post(f"/congdan/phan-anh/theo-doi/{token}/mo-lai/", {"note": "Rác lại bị đổ"})
    feedback.refresh_from_db()
    assert (feedback.rating, feedback.status, feedback.reopened_count) == (2, Status.IN_PROGRESS, 1)
    _step(operator, feedback, "answered", answer=answer + " Đã thu gom lại lần hai ngày 8/12.")
    _step(operator, feedback, "published")
    citizen.post(f"/congdan/phan-anh/theo-doi/{token}/mo-lai/", {"note": "Lại nữa"})
    feedback.refresh_from_db()
    assert feedback.status == Status.PUBLISHED
    assert "chỉ được mở lại một lần" in citizen.get(f"/congdan/phan-anh/theo-doi/{token}/").content.decode()
    _step(operator, feedback, "closed")
    actions = list(AuditEntry.objects.filter(object_id=str(feedback.pk)).values_list("action", flat=True))
    for action in ("feedback.submitted", "feedback.acknowledged", "feedback.classified", "feedback.assigned",
                   "feedback.in_progress", "feedback.answered", "feedback.published", "feedback.rated",
                   "feedback.reopened", "feedback.closed"):  # fmt: skip
        assert action in actions


def test_a_published_answer_becomes_a_draft_bulletin_for_the_loudspeakers(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    from loa.content.models import Bulletin

    feedback, _ = _submitted(Client(), tree["a"])
    operator = client_for(make_user("op-a", Role.COMMUNE_OPERATOR, tree["a"]))
    early = operator.post(f"/feedback/{feedback.pk}/ban-tin/")
    assert early.status_code == 302 and not Bulletin.objects.exists(), "only a published answer"
    answer = "Tổ vệ sinh đã thu gom toàn bộ rác ở đầu ngõ 12 sáng 6/12 và đặt biển cấm đổ rác."
    for to, extra in (("assigned", {"unit_code": tree["zone_a"].code}), ("answered", {"answer": answer}),
                      ("published", {"public_summary": "Rác thải ở đầu ngõ 12 chưa được thu gom."})):  # fmt: skip
        _step(operator, feedback, to, **extra)
    assert "fb-to-bulletin" in operator.get(f"/feedback/{feedback.pk}/").content.decode()
    response = operator.post(f"/feedback/{feedback.pk}/ban-tin/")
    bulletin = Bulletin.objects.get()
    assert response["Location"] == f"/bulletins/{bulletin.pk}/edit/"
    assert bulletin.origin_unit == tree["a"] and bulletin.state == "draft"
    assert (
        answer in bulletin.body
        and "Rác thải ở đầu ngõ 12" in bulletin.body
        and feedback.number in bulletin.title
    )
    assert "Ngõ 12, tổ dân phố 1" not in bulletin.body, "the address the citizen gave stays private"
    viewer = client_for(make_user("xem-a", Role.VIEWER, tree["a"]))
    assert viewer.post(f"/feedback/{feedback.pk}/ban-tin/").status_code == 403


def test_closing_as_not_fixable_needs_a_reason(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    feedback, _ = _submitted(Client(), tree["a"])
    operator = client_for(make_user("op-a", Role.COMMUNE_OPERATOR, tree["a"]))
    operator.post(f"/feedback/{feedback.pk}/chuyen/", {"to": "not_fixable", "reason": ""})
    feedback.refresh_from_db()
    assert feedback.status == Status.RECEIVED
    reason = "Khu đất thuộc dự án của tỉnh, xã không có thẩm quyền; đã chuyển Sở Xây dựng."
    _step(operator, feedback, "not_fixable", reason=reason)
    assert reason in Client().get(f"/congdan/phan-anh/tra-loi/{feedback.pk}/").content.decode()


def test_bulk_assign_and_internal_notes(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    first, _ = _submitted(Client(REMOTE_ADDR="192.0.2.10"), tree["a"])
    second, token = _submitted(Client(REMOTE_ADDR="192.0.2.11"), tree["a"], text="Cống thoát nước tắc ở tổ 1.",
                               latitude="", longitude="")  # fmt: skip
    operator = client_for(make_user("op-a", Role.COMMUNE_OPERATOR, tree["a"]))
    operator.post("/feedback/chuyen-nhieu/", {"ids": [first.pk, second.pk], "unit_code": tree["zone_a"].code})
    assert set(Feedback.objects.values_list("handling_unit__code", "status")) == {
        (tree["zone_a"].code, Status.ASSIGNED)
    }
    operator.post(f"/feedback/{second.pk}/ghi-chu/", {"note": "Đã gọi tổ trưởng, chiều nay kiểm tra"})
    assert "Đã gọi tổ trưởng" in operator.get(f"/feedback/{second.pk}/").content.decode()
    assert "Đã gọi tổ trưởng" not in Client().get(f"/congdan/phan-anh/theo-doi/{token}/").content.decode()


# ---- personal data ---------------------------------------------------------------------------------------
def test_export_then_delete_and_the_link_answers_da_xoa(
    tree: dict[str, Unit], django_capture_on_commit_callbacks: Any
) -> None:
    citizen = Client()
    feedback, token = _submitted(citizen, tree["a"], photos=[photo_with_gps()], contact="0987654321")
    path = photo_file(feedback.photos.get().path)
    exported = citizen.get(f"/congdan/phan-anh/theo-doi/{token}/du-lieu.json").json()
    assert exported["noi_dung"].startswith("Rác thải") and exported["lien_he"]["gia_tri"] == "0987654321"
    assert len(exported["anh"]) == 1
    refused = citizen.post(f"/congdan/phan-anh/theo-doi/{token}/xoa/", {})
    assert refused.status_code == 302 and Feedback.objects.get().erased_at is None
    with django_capture_on_commit_callbacks(execute=True):
        citizen.post(f"/congdan/phan-anh/theo-doi/{token}/xoa/", {"confirm": "yes"})
    feedback.refresh_from_db()
    assert (feedback.text, feedback.contact, feedback.address, feedback.latitude) == ("", "", "", None)
    assert not feedback.photos.exists() and not path.exists()
    for url in ("", "du-lieu.json", "anh/1/"):
        again = citizen.get(f"/congdan/phan-anh/theo-doi/{token}/{url}")
        assert again.status_code == 410 and "đã xoá" in again.content.decode()
    again = citizen.post(f"/congdan/phan-anh/theo-doi/{token}/danh-gia/", {"rating": "5"})
    assert again.status_code == 410 and "đã xoá" in again.content.decode()
    assert Client().get("/congdan/phan-anh/theo-doi/khong-co-lien-ket-nay/").status_code == 404


def test_retention_erases_personal_data_after_the_category_period(tree: dict[str, Unit]) -> None:
    feedback, _token = _submitted(Client(), tree["a"], contact="0912345678")
    feedback.status, feedback.closed_at = Status.CLOSED, timezone.now() - dt.timedelta(days=366)
    feedback.save()
    fresh, _ = _submitted(Client(REMOTE_ADDR="192.0.2.99"), tree["b"], text="Cây đổ chắn đường liên thôn.")
    result = periodic.feedback_retention()
    assert result["erased"] == 1
    feedback.refresh_from_db()
    fresh.refresh_from_db()
    assert feedback.text == "" and feedback.contact == "" and feedback.erased_at is not None
    assert fresh.text and fresh.erased_at is None
    assert AuditEntry.objects.filter(action="feedback.erased", object_id=str(feedback.pk)).exists()


def test_an_unverified_contact_is_dropped_after_a_day(tree: dict[str, Unit]) -> None:
    feedback, _ = _submitted(Client(), tree["a"], contact="0912345678")
    assert run_retention()["contacts_dropped"] == 0
    assert run_retention(timezone.now() + dt.timedelta(hours=25))["contacts_dropped"] == 1
    feedback.refresh_from_db()
    assert feedback.contact == "" and feedback.text


# ---- working hours and deadlines --------------------------------------------------------------------------
def test_working_hours_skip_weekends_lunch_and_tet() -> None:
    friday_4pm = dt.datetime(2026, 1, 9, 16, 0, tzinfo=VN)
    assert add_working_hours(friday_4pm, 8) == dt.datetime(2026, 1, 12, 16, 0, tzinfo=VN)
    before_tet = dt.datetime(2026, 2, 13, 16, 0, tzinfo=VN)  # Friday; Tết holidays 14-22/2/2026
    assert add_working_hours(before_tet, 2) == dt.datetime(2026, 2, 23, 8, 30, tzinfo=VN)
    assert working_hours_between(friday_4pm, dt.datetime(2026, 1, 12, 16, 0, tzinfo=VN)) == pytest.approx(8)


def test_an_unanswered_feedback_is_reminded_then_escalated_to_the_province(tree: dict[str, Unit]) -> None:
    monday_9am = dt.datetime(2026, 3, 2, 9, 0, tzinfo=VN)
    with time_machine.travel(monday_9am, tick=False):
        feedback, _ = _submitted(Client(), tree["a"], category="an-ninh-trat-tu")  # 16 working hours
        assert feedback.due_at == dt.datetime(2026, 3, 4, 9, 0, tzinfo=VN)
        assert do_sla_sweep().reminded == 0
    with time_machine.travel(dt.datetime(2026, 3, 4, 7, 45, tzinfo=VN), tick=False):
        result = do_sla_sweep()
        assert (result.reminded, result.escalated) == (1, 0)
        assert do_sla_sweep().reminded == 0, "one reminder per deadline"
    with time_machine.travel(dt.datetime(2026, 3, 4, 9, 1, tzinfo=VN), tick=False):
        assert periodic.feedback_sla() == {
            "reminded": 0,
            "escalated": 1,
        }  # what django-q2 runs every 5 minutes
    feedback.refresh_from_db()
    assert feedback.handling_unit == tree["province"] and feedback.escalations == 1
    assert AuditEntry.objects.filter(action="feedback.escalated", unit_code="22").exists()
    with time_machine.travel(dt.datetime(2026, 3, 6, 9, 1, tzinfo=VN), tick=False):
        assert do_sla_sweep().escalated == 0, "a province has no parent to escalate to"


def test_answered_in_time_stops_the_clock(tree: dict[str, Unit]) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=VN), tick=False):
        feedback, _ = _submitted(Client(), tree["a"], category="an-ninh-trat-tu")
        do_feedback_transition(feedback, Status.ASSIGNED, actor=None, unit=tree["a"])
        do_feedback_transition(
            feedback, Status.ANSWERED, actor=None, answer="Công an xã đã đến kiểm tra và xử lý vụ việc."
        )
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, tzinfo=VN), tick=False):
        assert do_sla_sweep().escalated == 0


# ---- public statistics -------------------------------------------------------------------------------------
def test_public_statistics_per_province_and_commune(tree: dict[str, Unit]) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=VN), tick=False):
        one, _ = _submitted(Client(REMOTE_ADDR="192.0.2.31"), tree["a"])
        _submitted(Client(REMOTE_ADDR="192.0.2.32"), tree["b"], text="Đường liên thôn ngập nước sau mưa.")
    with time_machine.travel(dt.datetime(2026, 3, 2, 11, 0, tzinfo=VN), tick=False):
        do_feedback_transition(one, Status.ASSIGNED, actor=None, unit=tree["a"])
        do_feedback_transition(
            one, Status.ANSWERED, actor=None, answer="Tổ vệ sinh đã thu gom rác ở đầu ngõ 12 sáng nay."
        )
        do_feedback_transition(one, Status.PUBLISHED, actor=None)
    Feedback.objects.filter(pk=one.pk).update(rating=5)
    page = Client().get("/congdan/phan-anh/thong-ke/?ma=22").content.decode()
    assert "Phường Hà Tu" in page and "Phường Cao Xanh" in page
    total = page[page.index('id="fb-total"') :]
    assert "<dd>2</dd>" in total and "1 (50,0 %)" in total and "2,0 giờ" in total and "100,0 %" in total
    commune = Client().get("/congdan/phan-anh/thong-ke/?ma=06658").content.decode()
    assert "<dd>1</dd>" in commune and "<dd>0 (0,0 %)</dd>" in commune
    assert Client().get("/congdan/phan-anh/thong-ke/").status_code == 200


def test_feedback_pages_speak_english_when_asked(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    from tests.loa.console.test_one_language import VIETNAMESE_WORD, _visible_text  # type: ignore[import-not-found]

    citizen = Client(HTTP_ACCEPT_LANGUAGE="en")
    feedback, token = _submitted(citizen, tree["a"], photos=[photo_with_gps()])
    operator = client_for(make_user("op-a", Role.COMMUNE_OPERATOR, tree["a"]))
    for to, extra in (("assigned", {"unit_code": tree["a"].code}), ("answered", {"answer": "The street lights were fixed this morning by the ward."}), ("published", {})):  # fmt: skip
        _step(operator, feedback, to, **extra)
    operator.get("/feedback/")  # the steps' messages were said in Vietnamese, when they were taken
    admin = client_for(make_user("tinh", Role.PROVINCE_ADMIN, tree["province"]))
    data = [*CalendarDay.objects.values_list("name", flat=True), feedback.text, "Ngõ 12, tổ dân phố 1", "Phường Hà Tu", "Quảng Ninh", "Phường Cao Xanh", "Tiếng Việt",
            "Thành phố Huế", "Phường Phú Xuân", "Tổ dân phố 1", "Tổ dân phố 5"]  # fmt: skip
    pages = [
        (citizen, f"/congdan/phan-anh/?xa={tree['a'].code}"),
        (citizen, "/congdan/phan-anh/?q=ha+tu"),
        (citizen, f"/congdan/phan-anh/theo-doi/{token}/"),
        (citizen, f"/congdan/phan-anh/tra-loi/{feedback.pk}/"),
        (citizen, "/congdan/phan-anh/tra-loi/"),
        (citizen, "/congdan/phan-anh/thong-ke/?ma=22"),
        (operator, "/feedback/"),
        (operator, f"/feedback/{feedback.pk}/"),
        (admin, "/feedback/cai-dat/"),
    ]
    problems = []
    for client, url in pages:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200, url
        text = _visible_text(response.content.decode())
        main = text[text.find("Feedback") :] if url.startswith("/feedback") else text
        for item in sorted(data, key=len, reverse=True):
            main = main.replace(item, " ")
        words = VIETNAMESE_WORD.findall(main)
        if url.startswith("/feedback"):  # the console's own menu and header are the console's business
            words = [w for w in words if w not in {"Mở", "menu", "Đơn", "vị", "đang", "xem"}]
        if words:
            problems.append(f"{url}: {words[:12]}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("kind", "contact", "shown"),
    [
        ("phone", "0912345678", "091••••678"),
        ("phone", "+84912345678", "+84••••••678"),
        ("email", "nguyen.van.a@example.vn", "n•••@example.vn"),
        ("phone", "12345", "•••••"),
    ],
)
def test_a_contact_is_masked_to_what_its_owner_recognises(kind: str, contact: str, shown: str) -> None:
    from loa.citizen.feedback_senders import masked_contact

    assert masked_contact(kind, contact) == shown

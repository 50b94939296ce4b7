"""The citizen's feedback refusals and the staff's workflow refusals speak the reader's language: Vietnamese first,
English from the catalogue (not only the pages' labels) — the form's messages, the flood and duplicate answers, the
tracking link's 404/410, the notification endpoint's JSON, and a step refused in the console."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.citizen.models import Feedback
from loa.units.models import Unit
from tests.loa.citizen.feedback_helpers import FORM, submit, token_of  # type: ignore[import-not-found]
from tests.loa.console.test_one_language import VIETNAMESE_WORD  # type: ignore[import-not-found]

pytestmark = pytest.mark.django_db
NAMES = ("Phường Hà Tu", "Quảng Ninh", "Tiếng Việt")


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def _english(text: str) -> str:
    for name in NAMES:
        text = text.replace(name, " ")
    words = VIETNAMESE_WORD.findall(text)
    assert not words, f"Vietnamese left in an English message: {words[:8]} in {text!r}"
    return text


def _form_error(response: Any) -> str:
    html = response.content.decode()
    start = html.index('id="fb-error">') + len('id="fb-error">')
    return html[start : html.index("</p>", start)]


# (fields of the form, status, English message, Vietnamese message)
FORM_REFUSALS = [
    ({"text": "ngắn"}, 400, "Write your feedback (at least 10 characters)", "Hãy viết nội dung phản ánh (ít nhất 10 ký tự)"),
    ({"consent": ""}, 400, "Read and agree to how your information", "Hãy đọc và đồng ý với mục đích"),
    ({"latitude": "", "longitude": "", "address": ""}, 400, "Mark the place on the map", "Hãy chấm vị trí trên bản đồ"),
    ({"latitude": "48.85", "longitude": "2.35"}, 400, "The position on the map is not valid.", "Vị trí trên bản đồ không hợp lệ."),
    ({"contact": "not a phone"}, 400, "The phone number or e-mail is not valid", "Số điện thoại hoặc e-mail không hợp lệ"),
    ({"category": "khong-co"}, 400, "Choose what the feedback is about.", "Hãy chọn lĩnh vực phản ánh."),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "status", "english", "vietnamese"), FORM_REFUSALS)
def test_form_refusals_in_both_languages(
    tree: dict[str, Unit], fields: dict[str, str], status: int, english: str, vietnamese: str
) -> None:
    en = submit(Client(HTTP_ACCEPT_LANGUAGE="en"), tree["a"].code, **fields)
    assert en.status_code == status
    assert english in _english(_form_error(en))
    vi = submit(Client(HTTP_ACCEPT_LANGUAGE="vi"), tree["a"].code, **fields)
    assert vi.status_code == status and vietnamese in _form_error(vi)
    assert not Feedback.objects.exists()


def test_fake_photo_flood_and_duplicate_in_english(tree: dict[str, Unit], settings: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    citizen = Client(HTTP_ACCEPT_LANGUAGE="en")
    fake = citizen.post(
        "/congdan/phan-anh/",
        {"xa": tree["a"].code, **FORM, "photos": [SimpleUploadedFile("x.jpg", b"not a photo", "image/jpeg")]},
    )
    assert fake.status_code == 400
    assert "File “x.jpg” is not a JPEG, PNG or WebP photo" in _english(_form_error(fake))
    first = submit(citizen, tree["a"].code)
    assert first.status_code == 302
    again = submit(citizen, tree["a"].code)
    assert again.status_code == 409
    assert _english(_form_error(again)).startswith(
        f"This is the same as feedback PA-{Feedback.objects.get().pk}"
    )
    settings.LOA_FEEDBACK_RATE = (1, 20)
    flood = submit(citizen, tree["a"].code, text="Một phản ánh khác hẳn về đèn đường hỏng ở tổ 3.")
    assert flood.status_code == 429
    assert "You have sent 1 feedback items in the past hour" in _english(_form_error(flood))


def test_tracking_link_refusals_and_the_json_endpoint_in_english(tree: dict[str, Unit]) -> None:
    citizen = Client(HTTP_ACCEPT_LANGUAGE="en")
    token = token_of(submit(citizen, tree["a"].code))
    unknown = citizen.get("/congdan/phan-anh/theo-doi/khong-co-duong-lien-ket-nay-0000/")
    assert unknown.status_code == 404 and "No feedback was found for this link." in unknown.content.decode()
    too_early = citizen.post(f"/congdan/phan-anh/theo-doi/{token}/danh-gia/", {"rating": "5"}, follow=True)
    assert "You can rate only once the answer is published." in too_early.content.decode()
    citizen.post(f"/congdan/phan-anh/theo-doi/{token}/xoa/", {"confirm": "yes"})
    gone = citizen.get(f"/congdan/phan-anh/theo-doi/{token}/")
    assert gone.status_code == 410 and "was deleted at the sender" in gone.content.decode()
    follow = citizen.post(
        f"/congdan/phan-anh/theo-doi/{token}/thong-bao/",
        {"subscription": {}},
        content_type="application/json",
    )
    assert follow.status_code == 410
    assert "was deleted at the sender's request" in _english(follow.json()["error"]["message"])


def test_a_step_refused_in_the_console_is_said_in_english(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    submit(Client(), tree["a"].code)
    feedback = Feedback.objects.get()
    operator = client_for(make_user("op-a", Role.COMMUNE_OPERATOR, tree["a"]))
    operator.post(f"/feedback/{feedback.pk}/chuyen/", {"to": "assigned", "unit_code": tree["a"].code})
    short = operator.post(
        f"/feedback/{feedback.pk}/chuyen/", {"to": "answered", "answer": "Done."}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert short.status_code == 302
    page = operator.get(f"/feedback/{feedback.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The answer is too short (at least 30 characters)" in page

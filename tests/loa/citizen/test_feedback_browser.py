"""Feedback end to end in Debian's Chromium on a phone (390×844): a citizen sends feedback with a phone photo
(EXIF with GPS) and a pin on the map; the stored photo has no EXIF; an operator of commune B cannot open it, the
operator of commune A (the competent one) assigns and answers it and publishes the answer; the citizen reads the
answer by the tracking link and rates it."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.citizen.feedback_photos import photo_file
from loa.citizen.models import Feedback, Status
from loa.units.models import Unit
from tests.browser import browser_page  # type: ignore[import-not-found]
from tests.loa.citizen.feedback_helpers import has_exif, photo_with_gps  # type: ignore[import-not-found]
from tests.loa.content.test_bulletin_browser import _sign_in, _submit  # type: ignore[import-not-found]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = "Cột đèn chiếu sáng ở đầu tổ dân phố 1 bị đổ nghiêng sau mưa, dây điện võng xuống sát đầu người."
ANSWER = "Điện lực phường đã dựng lại cột đèn và căng lại dây lúc 15 giờ ngày hôm nay; đã kiểm tra an toàn."
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"


def test_citizen_feedback_with_a_photo_answered_by_the_competent_commune(
    live_server: Any, tree: dict[str, Unit], make_user: Callable[..., User], settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    seed = importlib.import_module("loa.citizen.migrations.0002_seed_categories_and_2026_calendar")
    seed.seed(apps, None)  # a transactional test starts from flushed tables
    Unit.objects.filter(pk=tree["a"].pk).update(latitude=20.95, longitude=107.10)
    make_user("xa-a", Role.COMMUNE_OPERATOR, tree["a"])
    make_user("xa-b", Role.COMMUNE_OPERATOR, tree["b"])
    base = live_server.url

    with browser_page(viewport={"width": 390, "height": 844}) as page:
        # 1. the citizen finds the commune without diacritics, reads the purpose, fills the form
        page.goto(f"{base}/congdan/phan-anh/")
        page.fill("#fb-q", "ha tu")
        _submit(page, "form.search button[type=submit]")
        _submit(page, "a.fb-choice")
        assert "Mục đích sử dụng thông tin của bạn" in page.inner_text(".fb-consent")
        page.check("input[name=category][value=ha-tang]")
        page.fill("#fb-text", TEXT)
        page.set_input_files(
            "#fb-photos",
            files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo_with_gps()}],
        )
        page.wait_for_selector("#fb-map[data-ready='1']")  # the map library loads after the page
        page.locator("#fb-map").click(position={"x": 120, "y": 100})
        assert page.input_value("#fb-lat") and page.input_value("#fb-lon")
        page.fill("#fb-address", "Đầu tổ dân phố 1")
        page.check("input[name=consent]")
        assert page.evaluate(FITS), "the form scrolls sideways on a phone"
        _submit(page, "button.fb-submit")
        assert "/congdan/phan-anh/theo-doi/" in page.url, page.inner_text("main")[:1000]
        link = page.input_value("#fb-link")
        assert link == page.url
        feedback = Feedback.objects.get()
        stored = photo_file(feedback.photos.get().path).read_bytes()
        assert not has_exif(stored), "the stored photo still carries EXIF"
        assert feedback.latitude is not None and feedback.handling_unit == tree["a"]

        # 2. commune B's operator cannot open it; commune A's sees it in the queue, assigns and answers
        _sign_in(page, base, "xa-b")
        page.goto(f"{base}/feedback/")
        assert feedback.number not in page.inner_text("main")
        assert page.goto(f"{base}/feedback/{feedback.pk}/").status == 404
        _sign_in(page, base, "xa-a")
        page.goto(f"{base}/feedback/")
        _submit(page, f"a[href='/feedback/{feedback.pk}/']")
        assert TEXT in page.inner_text("main")
        page.select_option("form[data-to=assigned] select[name=unit_code]", tree["a"].code)
        _submit(page, "form[data-to=assigned] button[type=submit]")
        assert page.inner_text("#fb-status") == "Đã chuyển đơn vị xử lý"
        page.fill("form[data-to=answered] textarea[name=answer]", ANSWER)
        _submit(page, "form[data-to=answered] button[type=submit]")
        _submit(page, "form[data-to=published] button[type=submit]")
        assert page.inner_text("#fb-status") == "Đã công khai trả lời"
        page.context.clear_cookies()

        # 3. the citizen opens the tracking link, reads the published answer and rates it
        page.goto(link)
        assert ANSWER in page.inner_text("#fb-answer")
        page.check("input[name=rating][value='5']")
        _submit(page, "form[action$='/danh-gia/'] button[type=submit]")
        assert "Bạn đã đánh giá 5/5" in page.inner_text("#fb-rated")
        assert page.evaluate(FITS)
    feedback.refresh_from_db()
    assert (feedback.status, feedback.rating) == (Status.PUBLISHED, 5)

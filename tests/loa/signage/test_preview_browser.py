"""The console's preview of a playlist at a board's real resolution, in Chromium: the screen is laid out at
1080×1920 and scaled to the page, the text has the size the server's fit found, the font is the bundled one (no
request leaves the machine), on a desk and on a phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from loa.accounts.roles import Role
from loa.broadcast import approval
from loa.signage.services import SlideInput, do_create_playlist, do_create_slide
from tests.browser import browser_page  # type: ignore[import-not-found]
from tests.conftest import verified_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", [(1366, 900), (390, 844)])
def test_playlist_preview_at_the_board_resolution(
    live_server: Any, tree: Any, make_user: Any, make_boards: Any, image_file: Path, viewport: tuple[int, int]
) -> None:
    op = make_user("op", Role.COMMUNE_OPERATOR, tree["a"])
    ap = make_user("ap", Role.APPROVER, tree["a"])
    board = make_boards(tree["a"], 1, "portrait", (1080, 1920))[0]
    text = do_create_slide(
        tree["a"], SlideInput("text", text="Họp dân lúc 19:30 tại nhà văn hóa tổ 1"), actor=op
    )
    image = do_create_slide(tree["a"], SlideInput("image", file=image_file), actor=op)
    ticker = do_create_slide(tree["a"], SlideInput("ticker", text="Phòng chống bão số 9"), actor=op)
    clock = do_create_slide(tree["a"], SlideInput("clock"), actor=op)
    playlist = do_create_playlist(
        tree["a"], "Tối", [(text, 5), (image, 5), (ticker, 10), (clock, 10)], actor=op
    )
    approval.do_decide_programme(playlist.programme, approve=True, actor=ap)
    session = verified_client(op).cookies[django_settings.SESSION_COOKIE_NAME].value
    base = live_server.url
    with browser_page(viewport={"width": viewport[0], "height": viewport[1]}) as page:
        page.context.add_cookies(
            [{"name": django_settings.SESSION_COOKIE_NAME, "value": session, "url": base}]
        )
        page.goto(f"{base}/signage/boards/{board.device_id}/preview/?playlist={playlist.pk}")
        page.wait_for_selector(".board-zone[data-zone=main] .board-text")
        screen = page.locator(".board-screen")
        assert screen.evaluate("e => [e.style.width, e.style.height]") == ["1080px", "1920px"]
        holder_width = page.locator(".board-frame").evaluate("e => e.clientWidth")
        box = screen.bounding_box()
        assert box is not None
        assert abs(box["width"] - holder_width) <= 1  # scaled to fit the page
        assert abs(box["height"] - 1920 * holder_width / 1080) <= 2
        font_px = text.fits["portrait"]["font_px"]
        assert (
            page.locator(".board-zone[data-zone=main] .board-text").evaluate(
                "e => getComputedStyle(e).fontSize"
            )
            == f"{font_px}px"
        )
        assert page.locator(".board-zone[data-zone=ticker]").inner_text().strip() == "Phòng chống bão số 9"
        assert ":" in page.locator(".board-zone[data-zone=clock]").inner_text()
        page.wait_for_function("document.fonts.check('600 20px \"Be Vietnam Pro\"')")
        # the main zone moves to the image after the text's 5 seconds, as the player does
        page.wait_for_selector(".board-zone[data-zone=main] img", timeout=9000)

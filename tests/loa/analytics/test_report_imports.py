"""A PDF report drawn in a process leaves that process's image checks as strict as before: WeasyPrint sets Pillow's
process-wide ``LOAD_TRUNCATED_IMAGES`` at import, after which a board's screenshot cut in the middle was taken as a
picture (failed in CI when a report test had run earlier in the same worker)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from loa.analytics.documents import _weasyprint
from loa.errors import Refusal
from loa.fleet.boards import check_screenshot


def test_a_truncated_screenshot_is_refused_after_weasyprint_is_loaded(db: None) -> None:
    picture = Image.new("RGB", (320, 180))
    for x in range(0, 320, 8):
        picture.paste((x % 256, (3 * x) % 256, 90), (x, 0, x + 8, 180))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90)
    whole = out.getvalue()
    _weasyprint()
    assert check_screenshot(whole).size == (320, 180)
    with pytest.raises(Refusal) as refused:
        check_screenshot(whole[: len(whole) // 2])
    assert "không phải là ảnh hợp lệ" in refused.value.message

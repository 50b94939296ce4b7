"""``loa demo``'s e-bulletin boards: a board of each screen class in the demo's communes, with approved content
scheduled on them every day during the default screen-on hours, compiled into their signed manifests — so a new
user finds boards in the fleet, their previews and their planned-versus-shown pages at once."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from loa.fleet import boards
from loa.fleet.models import Device, DeviceKind
from loa.fleet.services import do_provision_device
from loa.units.models import Unit

# (serial, commune index, screen class, name)
DEMO_BOARDS = [
    ("DEMO-BOARD-1", 0, "landscape", "Bảng tin trụ sở UBND"),
    ("DEMO-BOARD-2", 0, "portrait", "Bảng tin nhà văn hóa"),
    ("DEMO-BOARD-3", 1, "led_384x192", "Bảng LED chợ trung tâm"),
    ("DEMO-BOARD-4", 2, "led_192x96", "Bảng LED ngã ba"),
]
BRIGHTNESS = [{"at": "05:00", "percent": 70}, {"at": "07:00", "percent": 100}, {"at": "18:30", "percent": 60}]
ALL_CLASSES = ["landscape", "portrait", "led_192x96", "led_384x192"]


def _picture(path: Path) -> Path:
    """A small picture for the image slide (made here: the demo downloads nothing)."""
    img = Image.new("RGB", (960, 540), (14, 80, 140))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 380, 960, 540), fill=(40, 140, 70))
    draw.ellipse((700, 60, 860, 220), fill=(250, 200, 40))
    for x in range(80, 620, 140):
        draw.polygon([(x, 380), (x + 60, 250), (x + 120, 380)], fill=(200, 60, 50))
    img.save(path)
    return path


def seed_demo_boards(province: Unit, communes: list[Unit], *, author: Any, approver: Any) -> list[Device]:
    """The demo boards and their content, once (a second seed finds them and adds nothing)."""
    from loa.broadcast import approval
    from loa.broadcast.services import ScheduleSpec
    from loa.signage.scheduling import do_schedule_playlist
    from loa.signage.services import SlideInput, do_create_playlist, do_create_slide

    existing = list(Device.objects.filter(serial__in=[b[0] for b in DEMO_BOARDS], revoked_at=None))
    if existing:
        return existing
    made: list[Device] = []
    for serial, index, screen_class, name in DEMO_BOARDS:
        unit = communes[index % len(communes)]
        device, _password = do_provision_device(
            unit, actor="loa demo", serial=serial, model="board-player", name=f"{name} {unit.name}"
        )
        Device.objects.filter(pk=device.pk).update(kind=DeviceKind.EBOARD)
        device.refresh_from_db()
        boards.ensure_screen(device, screen_class)
        boards.do_update_screen(
            device, {"screen_class": screen_class, "brightness_schedule": BRIGHTNESS}, actor="loa demo"
        )
        made.append(device)

    def slide(kind: str, text: str = "", file: Path | None = None) -> Any:
        data = SlideInput(kind, text=text, file=file, screen_classes=ALL_CLASSES)
        return do_create_slide(province, data, actor=author)

    with tempfile.TemporaryDirectory() as tmp:
        slides = [
            slide("text", "Tiêm chủng mở rộng: 8 giờ thứ Bảy tại trạm y tế xã."),
            slide("image", file=_picture(Path(tmp) / "ban-tin.png")),
            slide("text", "Họp dân 19 giờ tối nay tại nhà văn hóa thôn."),
        ]
    ticker = slide("ticker", "Phòng chống mưa bão: bà con theo dõi tin trên loa truyền thanh và bảng tin.")
    clock = slide("clock")
    playlist = do_create_playlist(
        province,
        "Bảng tin trình diễn",
        [(s, 10.0) for s in slides] + [(ticker, 600.0), (clock, 600.0)],
        actor=author,
    )
    approval.do_decide_programme(playlist.programme, approve=True, actor=approver)
    spec = ScheduleSpec(
        title="Bảng tin hằng ngày", programme=None, kind="daily", times=["05:00"], target_units=communes
    )
    # 05:00-22:00, the default screen-on hours (docs/signage.md)
    do_schedule_playlist(spec, playlist, minutes=17 * 60, owner=province, actor=author)
    return made

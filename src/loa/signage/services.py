"""Making board content: slides (``do_create_slide``), playlists (``do_create_playlist``) and screen-on windows
(``do_set_screen_windows``). The caller authorised the unit and every slide or bulletin with :mod:`.access`.

A slide is prepared when it is made, for each screen class it is meant for: text is fitted to the main zone (a text
that cannot fit is refused), images, video and PDF pages are validated and converted (:mod:`.renditions`), a
bulletin gets its QR code. Files go to the store first and the row is written after; if anything fails, the files
this call created are removed, so a refusal leaves nothing behind on disk or in the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from loa.audit.log import record
from loa.broadcast.models import Programme
from loa.content.attachments import stored_path
from loa.content.models import Attachment, Bulletin
from loa.content.models import State as BulletinState
from loa.errors import Refusal
from loa.signage import fit as fitting
from loa.signage import renditions as rnd
from loa.signage.layouts import DEFAULT_CLASSES, LAYOUT_LABELS, SCREEN_LABELS, SCREEN_SIZES, zones
from loa.signage.models import Playlist, PlaylistItem, ScreenWindows, Slide, SlideFile, SlideKind
from loa.signage.store import Placed
from loa.units.models import Unit
from loa_protocol import windows as wnd

MAX_TICKER = 500
MIN_DURATION_S, MAX_DURATION_S = 3.0, 3600.0
MAX_ITEMS = 200
# what is approved by itself (docs/adr/0007): a published bulletin went through its own approval; a clock says
# nothing. Everything else makes the playlist wait for an approver who is not its author.
REVIEWED_KINDS = frozenset({SlideKind.BULLETIN, SlideKind.CLOCK})


def public_bulletin_url(bulletin: Bulletin) -> str:
    """The bulletin's page in the citizen app (built under /congdan/)."""
    return f"{settings.LOA_PUBLIC_URL.rstrip('/')}/congdan/ban-tin/{bulletin.pk}/"


def bulletin_image_path(bulletin: Bulletin) -> Path | None:
    """The stored file of the bulletin's first image attachment, if it has one on disk."""
    att = (
        Attachment.objects.filter(bulletin=bulletin, kind=Attachment.Kind.IMAGE, asset__kind="image")
        .select_related("asset")
        .order_by("pk")
        .first()
    )
    if att is None:
        return None
    path = stored_path(att.asset)
    return path if path.is_file() else None


def check_classes(classes: Iterable[str] | None) -> list[str]:
    out = list(dict.fromkeys(classes or DEFAULT_CLASSES))
    bad = [c for c in out if c not in SCREEN_SIZES]
    if bad or not out:
        raise Refusal("screen_class_invalid", "Loại màn hình không hợp lệ.", field="screen_classes")
    return out


def fit_text(
    text: str, classes: Sequence[str], *, layout: str = "main_ticker_clock", share: float = 1.0
) -> dict:
    """The fit of ``text`` in the main zone of ``layout`` for each class (``share`` of its width), or a refusal."""
    out = {}
    for cls in classes:
        w, h = SCREEN_SIZES[cls]
        zone = zones(layout, w, h)[0]
        out[cls] = fitting.fit(
            text, round(zone.width * share), zone.height, where=f"{SCREEN_LABELS[cls].lower()}"
        ).as_dict()
    return out


@dataclass
class SlideInput:
    kind: str
    title: str = ""
    text: str = ""
    file: Path | None = None
    file_name: str = ""
    page: int = 1
    bulletin: Bulletin | None = None
    screen_classes: Sequence[str] | None = None


def _title(data: SlideInput, fallback: str) -> str:
    return (" ".join((data.title or "").split()) or fallback)[:300]


def do_create_slide(unit: Unit, data: SlideInput, *, actor: Any, request: Any = None) -> Slide:
    if data.kind not in SlideKind.values:
        raise Refusal("slide_kind_invalid", "Loại trang trình chiếu không hợp lệ.", field="kind")
    classes = check_classes(data.screen_classes)
    placed = Placed()
    fields: dict[str, Any] = {"kind": data.kind, "unit": unit}
    try:
        with rnd.workdir() as tmp:
            work = Path(tmp)
            if data.kind == SlideKind.TEXT:
                fields["text"] = fitting.normalise(data.text)
                fields["fits"] = fit_text(data.text, classes)
                fields["title"] = _title(data, fields["text"][:80])
            elif data.kind == SlideKind.TICKER:
                text = " ".join((data.text or "").split())
                if not text:
                    raise Refusal("text_required", "Cần nội dung dòng chữ chạy.", field="text")
                if len(text) > MAX_TICKER:
                    raise Refusal(
                        "text_too_long", f"Dòng chữ chạy dài tối đa {MAX_TICKER} ký tự.", field="text"
                    )
                fields["text"], fields["title"] = text, _title(data, text[:80])
            elif data.kind == SlideKind.CLOCK:
                fields["title"] = _title(data, "Đồng hồ, ngày tháng")
            elif data.kind == SlideKind.BULLETIN:
                b = data.bulletin
                if b is None or b.state != BulletinState.PUBLISHED:
                    raise Refusal(
                        "bulletin_not_published",
                        "Chỉ đưa lên bảng tin được bản tin đã phát hành.",
                        409,
                        field="bulletin",
                    )
                body = b.title + ("\n" + b.summary if b.summary else "")
                fields["bulletin"] = b
                fields["title"] = _title(data, b.title)
                fields["text"] = fitting.normalise(body)
                fields["fits"] = fit_text(body, classes, share=0.72)  # the QR code takes the right quarter
                fields["qr"] = rnd.qr_rendition(public_bulletin_url(b), placed, work)
                image = bulletin_image_path(b)
                if (
                    image is not None
                ):  # its first image, beside the text (validated again: it is a file on disk)
                    fields["renditions"] = rnd.image_renditions(rnd.open_image(image), classes, placed, work)
            elif data.kind in (SlideKind.IMAGE, SlideKind.PDF_PAGE, SlideKind.VIDEO):
                if data.file is None:
                    raise Refusal("file_required", "Chọn tệp để tải lên.", field="file")
                fields["source_sha256"] = rnd.audio.sha256_file(data.file)
                fields["source_name"] = (data.file_name or data.file.name)[:255]
                if data.kind == SlideKind.IMAGE:
                    img = rnd.open_image(data.file)
                    fields["renditions"] = rnd.image_renditions(img, classes, placed, work)
                elif data.kind == SlideKind.PDF_PAGE:
                    img = rnd.pdf_page_image(data.file, int(data.page or 1), work)
                    fields["page"] = int(data.page or 1)
                    fields["renditions"] = rnd.image_renditions(img, classes, placed, work)
                else:
                    info = rnd.probe_video(data.file)
                    fields["media_duration_s"] = info["duration_s"]
                    fields["renditions"] = rnd.video_renditions(data.file, info, classes, placed, work)
                fields["title"] = _title(data, Path(fields["source_name"]).stem or "Trang trình chiếu")
            with transaction.atomic():
                slide = Slide.objects.create(
                    **fields, created_by=actor if getattr(actor, "pk", None) else None
                )
                files = [*slide.renditions.values(), *([slide.qr] if slide.qr else [])]
                SlideFile.objects.bulk_create(
                    SlideFile(slide=slide, sha256=f["sha256"], ext=f["ext"], mime=f["mime"]) for f in files
                )
                record(
                    "signage.slide_created",
                    actor=actor,
                    request=request,
                    unit=unit,
                    obj=slide,
                    message=f"Tạo trang trình chiếu “{slide.title}” ({slide.get_kind_display()})",
                    data={"kind": slide.kind, "classes": classes, "source_sha256": slide.source_sha256},
                )
    except BaseException:
        placed.discard()
        raise
    return slide


# ---- playlists ----------------------------------------------------------------------------------------------


def default_duration(slide: Slide) -> float:
    if slide.kind == SlideKind.VIDEO and slide.media_duration_s:
        return round(float(slide.media_duration_s), 3)
    return 10.0


def unreviewed(slides: Iterable[Slide]) -> list[int]:
    """Positions of the slides an approver must see (ADR 0007): all but published bulletins and the clock."""
    return [i for i, s in enumerate(slides) if s.kind not in REVIEWED_KINDS]


def do_create_playlist(
    unit: Unit,
    title: str,
    items: Sequence[tuple[Slide, float | None]],
    *,
    layout: str = "main_ticker_clock",
    actor: Any,
    request: Any = None,
) -> Playlist:
    """A playlist and its programme (approved at once when it holds only published bulletins and clocks, else
    waiting for an approver who is not its author: :func:`loa.broadcast.approval.do_decide_programme`)."""
    title = " ".join((title or "").split())[:300]
    if not title:
        raise Refusal("playlist_title_required", "Cần tên danh sách trình chiếu.", field="title")
    if layout not in LAYOUT_LABELS:
        raise Refusal("layout_invalid", "Bố cục không hợp lệ.", field="layout")
    if not items:
        raise Refusal("playlist_empty", "Danh sách trình chiếu cần ít nhất một trang.", field="items")
    if len(items) > MAX_ITEMS:
        raise Refusal("playlist_too_long", f"Một danh sách có tối đa {MAX_ITEMS} trang.", field="items")
    rows: list[tuple[Slide, float]] = []
    for slide, duration in items:
        if not unit.path.startswith(slide.unit.path):
            raise Refusal("slide_not_found", "Không tìm thấy trang trình chiếu.", 404, field="items")
        d = float(duration) if duration is not None else default_duration(slide)
        if not MIN_DURATION_S <= d <= MAX_DURATION_S:
            raise Refusal(
                "duration_invalid",
                f"Thời lượng mỗi trang từ {MIN_DURATION_S:.0f} đến {MAX_DURATION_S:.0f} giây.",
                field="items",
            )
        rows.append((slide, d))
    waiting = unreviewed(s for s, _ in rows)
    state = Programme.State.PENDING if waiting else Programme.State.APPROVED
    with transaction.atomic():
        programme = Programme.objects.create(
            unit=unit,
            title=title,
            state=state,
            decided_at=None if waiting else timezone.now(),
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        playlist = Playlist.objects.create(
            unit=unit,
            programme=programme,
            title=title,
            layout=layout,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        PlaylistItem.objects.bulk_create(
            PlaylistItem(playlist=playlist, position=i, slide=s, duration_s=d)
            for i, (s, d) in enumerate(rows)
        )
        record(
            "signage.playlist_created",
            actor=actor,
            request=request,
            unit=unit,
            obj=playlist,
            message=f"Tạo danh sách trình chiếu “{title}” ({len(rows)} trang)"
            + (", chờ duyệt" if waiting else ""),
            data={"slides": [s.pk for s, _ in rows], "state": state, "unreviewed_items": waiting},
        )
    return playlist


# ---- screen-on windows --------------------------------------------------------------------------------------

DEFAULT_SCREEN_WINDOWS = (("05:00", "22:00"),)


def check_windows(pairs: Any) -> list[list[str]] | None:
    if pairs is None:
        return None
    try:
        parsed = wnd.from_pairs(pairs)
    except (wnd.WindowError, TypeError, ValueError) as exc:
        raise Refusal(
            "windows_invalid", f"Khung giờ bật màn hình không hợp lệ: {exc}", field="windows"
        ) from exc
    return [list(p) for p in wnd.to_pairs(parsed)]


def do_set_screen_windows(unit: Unit, pairs: Any, *, actor: Any, request: Any = None) -> ScreenWindows:
    windows = check_windows(pairs)
    with transaction.atomic():
        row, _ = ScreenWindows.objects.update_or_create(unit=unit, defaults={"windows": windows})
        text = (
            "theo cấp trên" if windows is None else ", ".join(f"{a}–{b}" for a, b in windows) or "tắt cả ngày"
        )
        record(
            "signage.screen_windows_changed",
            actor=actor,
            request=request,
            unit=unit,
            obj=row,
            message=f"Đặt giờ bật màn hình bảng tin của {unit.name}: {text}",
            data={"windows": windows},
        )
    from loa.signage.compile import compile_later

    compile_later(unit_paths=[unit.path])
    return row

"""LED controllers: boards that are not browsers (docs/signage.md "LED controllers").

Small LED panels (``led_192x96``, ``led_384x192``) are usually driven by a vendor controller (Novastar, Huidu,
Colorlight class) that plays a video or image file from its own storage and cannot run the reference player. A
**vendor adapter** turns the board's signed manifest into what its controller plays (:class:`LedAdapter`); the
reference adapter (:class:`FileAdapter`) renders the slides of the entry on screen now (or the next one) **with the
reference player itself** in headless Chromium at the panel's resolution (the same layout, fitted text, font,
ticker and clock zones as a browser board), one PNG per slide, and assembles them with ffmpeg into one H.264 MP4
without audio (a video slide is the slide's own video scaled into its zone over the drawn layout) and a JSON
playlist with the durations. The package is served to the board's own credentials at ``/board/api/led/…``.

What a file cannot carry (the controller or its adapter must, from ``playlist.json``): the screen-on windows, the
brightness schedule, the kill switch and an emergency (a file made beforehand cannot take over a screen); the clock
is drawn as it stood at the moment of rendering (the ticker scrolls in the MP4, drawn by ffmpeg).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from loa.audit.log import record
from loa.errors import Refusal
from loa.fleet import keys
from loa.fleet.models import Device, DeviceKind
from loa.media import audio
from loa.signage import store
from loa.signage.models import BoardManifestRow
from loa_protocol import board as pb
from loa_protocol.signing import sign

FPS = 25
# one ffmpeg call (a segment, or the concatenation): a segment is at most a slide's duration of frames
SEGMENT_TIMEOUT_S = 120.0
RENDER_TIMEOUT_MS = 30_000
PLAYLIST = "playlist.json"
VIDEO = "playlist.mp4"


def led_root() -> Path:
    return Path(settings.DATA_DIR) / "signage" / "led"


def package_dir(device_id: str) -> Path:
    return led_root() / device_id


@dataclass
class LedSlide:
    slide_id: str
    kind: str
    duration_s: float
    start_s: float
    file: str
    sha256: str


@dataclass
class LedPackage:
    device_id: str
    manifest_version: int
    entry_id: str
    playlist_id: str
    start: str
    end: str
    width: int
    height: int
    slides: list[LedSlide] = field(default_factory=list)
    video: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "v": 1, "device_id": self.device_id, "manifest_version": self.manifest_version,
            "entry_id": self.entry_id, "playlist_id": self.playlist_id, "start": self.start, "end": self.end,
            "width": self.width, "height": self.height, "fps": FPS, "video": self.video,
            "slides": [s.__dict__ for s in self.slides], **self.extra,
        }  # fmt: skip


class LedAdapter(Protocol):
    """What a vendor implements: from a verified board manifest, the files (or the upload) its controller plays.
    ``render`` writes into ``out`` (an empty folder) and returns what it wrote; it raises
    :class:`loa.errors.Refusal` with a Vietnamese message when it cannot."""

    name: str

    def render(self, manifest: pb.BoardManifest, out: Path) -> LedPackage: ...


def _refuse(code: str, message: str, status: int = 409) -> Refusal:
    return Refusal(code, message, status)


def entry_to_render(manifest: pb.BoardManifest, now: dt.datetime) -> pb.TimelineEntry | None:
    """The entry the player would show now (lowest priority number, then latest start), else the next to start."""
    running = [e for e in manifest.timeline if e.start <= now < e.end]
    if running:
        return min(running, key=lambda e: (e.priority, -e.start.timestamp()))
    upcoming = [e for e in manifest.timeline if e.start > now]
    return min(upcoming, key=lambda e: (e.start, e.priority)) if upcoming else None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _ffmpeg(cmd: list[str], what: str) -> None:
    try:
        res = audio._run([audio.ffmpeg_path(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *cmd],
                         time.monotonic() + SEGMENT_TIMEOUT_S)  # fmt: skip
    except audio.MediaRejected as exc:
        if exc.code == "timeout":
            raise _refuse(
                "led_timeout", f"Dựng {what} cho bảng LED quá thời gian cho phép nên đã dừng.", 500
            ) from None
        raise
    if res.returncode != 0:
        raise _refuse(
            "led_ffmpeg_failed", f"ffmpeg không dựng được {what} cho bảng LED: {res.stderr[-300:]}", 500
        )


_EVEN = "pad=ceil(iw/2)*2:ceil(ih/2)*2"  # H.264 4:2:0 needs even sides (a custom panel may be odd)
_H264 = ["-an", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p",
         "-r", str(FPS)]  # fmt: skip

_READY = """(id) => {
  const el = document.querySelector(`#stage .zone-main [data-slide-id="${id}"]`);
  if (!el) return false;
  return [...el.querySelectorAll('img')].every((i) => i.complete && i.naturalWidth > 0)
    && [...el.querySelectorAll('video')].every((v) => v.readyState >= 2);
}"""
_HIDE_VIDEO = (
    "() => document.querySelectorAll('#stage video').forEach((v) => { v.style.visibility = 'hidden'; })"
)


_HIDE_TICKER = "() => document.querySelectorAll('#stage .ticker-line').forEach((t) => { t.style.visibility = 'hidden'; })"
TICKER_PX_PER_S = 160  # the player's (player.js)


def _ticker(layout: pb.Layout, slides: list[pb.Slide]) -> tuple[pb.Zone, str] | None:
    """The ticker zone and its line, when the entry has one (the player shows the zone's first ticker slide)."""
    zones = {z.zone_id: z for z in layout.zones}
    for slide in slides:
        zone = zones.get(slide.zone)
        if slide.kind == "ticker" and zone is not None and zone.role == "ticker" and slide.text is not None:
            line = " ".join((slide.text.body or slide.text.title).split())
            if line:
                return zone, line
    return None


def _segment_graph(
    main: pb.Zone, with_video: bool, ticker: tuple[pb.Zone, str] | None, offset_s: float, text_file: Path
) -> str:
    """ffmpeg's filter graph for one slide: the drawn layout (input 0), the slide's video scaled into the main
    zone (input 1), and the ticker line scrolling right to left across its zone at the player's speed, from where it
    was at the end of the previous slide (so it runs on across slides), in the font the player uses."""
    from loa.signage.fit import font_path

    parts = []
    if with_video:
        zw, zh = main.width, main.height
        parts.append(
            f"[1:v]scale={zw}:{zh}:force_original_aspect_ratio=decrease,"
            f"pad={zw}:{zh}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1[v];[0:v][v]overlay={main.x}:{main.y}[base]"
        )
    else:
        parts.append("[0:v]null[base]")
    if ticker is not None:
        zone, _line = ticker
        size = max(4, round(zone.height * 0.6))  # the player's ticker font size
        x = f"w-mod((t+{offset_s:.3f})*{TICKER_PX_PER_S},w+tw)"
        parts.append(
            f"[base]split[a][b];[b]crop={zone.width}:{zone.height}:{zone.x}:{zone.y},"
            f"drawtext=fontfile='{font_path()}':textfile='{text_file}':fontsize={size}:fontcolor=white:"
            f"x='{x}':y='(h-th)/2'[tk];[a][tk]overlay={zone.x}:{zone.y}[moved]"
        )
    else:
        parts.append("[base]null[moved]")
    parts.append(f"[moved]{_EVEN},format=yuv420p[final]")
    return ";".join(parts)


class FileAdapter:
    """The reference adapter: PNG per slide, one H.264 MP4 (no audio) and ``playlist.json`` (docs/signage.md)."""

    name = "file"

    def render(self, manifest: pb.BoardManifest, out: Path, now: dt.datetime | None = None) -> LedPackage:
        from loa.signage.screencheck import player_page

        now = now or timezone.now()
        entry = entry_to_render(manifest, now)
        if entry is None:
            raise _refuse(
                "led_nothing_to_render",
                "Bảng tin không có nội dung nào đang hoặc sắp trình chiếu trong lịch 48 giờ: hãy lên lịch "
                "trình chiếu cho bảng rồi dựng lại.",
            )
        layout = next(lo for lo in manifest.layouts if lo.layout_id == entry.layout_id)
        main_zone = next(z for z in layout.zones if z.role in ("main", "full"))
        main = [s for s in entry.slides if s.zone == main_zone.zone_id]
        others = [s for s in entry.slides if s.zone != main_zone.zone_id]
        screen = manifest.screen.model_dump(mode="json")
        w, h = manifest.screen.width, manifest.screen.height
        package = LedPackage(
            device_id=manifest.device_id, manifest_version=manifest.version, entry_id=entry.entry_id,
            playlist_id=entry.playlist_id, start=entry.start.isoformat().replace("+00:00", "Z"),
            end=entry.end.isoformat().replace("+00:00", "Z"), width=w, height=h,
            extra={
                "timezone": manifest.timezone, "windows": [x.model_dump() for x in manifest.windows],
                "closed": manifest.closed, "killed": manifest.killed,
                "emergency": manifest.emergency and {"title": manifest.emergency.title,
                                                     "text": manifest.emergency.text},
                "brightness": [s.model_dump() for s in manifest.brightness],
                "generated_at": now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            },
        )  # fmt: skip
        ticker = _ticker(layout, others)
        if ticker is not None:
            (out / ".ticker.txt").write_text(ticker[1])
        served = [b""]
        segments: list[Path] = []
        start_s = 0.0
        with player_page(manifest.device_id, screen, served) as page:
            page.set_default_timeout(RENDER_TIMEOUT_MS)
            for n, slide in enumerate(main, start=1):
                # the player shows this slide alone, for ever, with the entry's ticker and clock beside it
                still = {**slide.model_dump(mode="json", exclude_none=True), "duration_s": 86400.0}
                one = pb.BoardManifest.model_validate(
                    {
                        "device_id": manifest.device_id, "version": n, "issued_at": now - dt.timedelta(days=1),
                        "valid_until": now + dt.timedelta(days=1), "screen": screen, "windows": [],
                        "layouts": [layout.model_dump(mode="json")],
                        "timeline": [{
                            "entry_id": "led", "start": now - dt.timedelta(days=1),
                            "end": now + dt.timedelta(days=1), "playlist_id": entry.playlist_id,
                            "layout_id": layout.layout_id,
                            "slides": [still, *[o.model_dump(mode="json", exclude_none=True) for o in others]],
                        }],
                    }
                )  # fmt: skip
                served[0] = sign(one, keys.private_key()).model_dump_json().encode()
                page.goto("/board/")
                page.wait_for_function(_READY, arg=slide.slide_id)
                page.evaluate("document.fonts.ready.then(() => true)")
                png = out / f"slide-{n:02d}.png"
                page.screenshot(path=str(png), clip={"x": 0, "y": 0, "width": w, "height": h})
                seg = out / f".seg-{n:02d}.mp4"
                video_file: Path | None = None
                if slide.kind == "video" and slide.media is not None:
                    parsed = store.parse_name(slide.media.url.rsplit("/", 1)[-1])
                    if parsed is None or not store.path_of(*parsed).is_file():
                        raise _refuse(
                            "led_media_missing", "Thiếu tệp video của trang trình chiếu trên máy chủ."
                        )
                    video_file = store.path_of(*parsed)
                    page.evaluate(_HIDE_VIDEO)
                if ticker is not None:
                    page.evaluate(_HIDE_TICKER)
                background = png
                if video_file is not None or ticker is not None:  # the layout without what moves
                    background = out / f".bg-{n:02d}.png"
                    page.screenshot(path=str(background), clip={"x": 0, "y": 0, "width": w, "height": h})
                graph = _segment_graph(
                    main_zone, video_file is not None, ticker, start_s, out / ".ticker.txt"
                )
                inputs = ["-loop", "1", "-framerate", str(FPS), "-i", str(background)]
                if video_file is not None:
                    inputs += ["-stream_loop", "-1", "-i", str(video_file)]
                _ffmpeg(
                    [*inputs, "-filter_complex", graph, "-map", "[final]", "-t", f"{slide.duration_s:.3f}",
                     *_H264, str(seg)],
                    "video" if video_file is not None else "trang trình chiếu",
                )  # fmt: skip
                if background != png:
                    background.unlink()
                segments.append(seg)
                package.slides.append(
                    LedSlide(
                        slide.slide_id,
                        slide.kind,
                        slide.duration_s,
                        round(start_s, 3),
                        png.name,
                        _sha256(png),
                    )
                )
                start_s += slide.duration_s
        listing = out / ".segments.txt"
        listing.write_text("".join(f"file '{s.name}'\n" for s in segments))
        video = out / VIDEO
        _ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", "-movflags", "+faststart",
                 str(video)], "video")  # fmt: skip
        for s in segments:
            s.unlink()
        listing.unlink()
        (out / ".ticker.txt").unlink(missing_ok=True)
        package.video = {"file": VIDEO, "sha256": _sha256(video), "bytes": video.stat().st_size,
                         "duration_s": round(start_s, 3), "codec": "h264", "audio": False}  # fmt: skip
        (out / PLAYLIST).write_text(json.dumps(package.as_json(), ensure_ascii=False, indent=1))
        return package


def check_led_board(device: Device) -> BoardManifestRow:
    if device.kind != DeviceKind.EBOARD:
        raise _refuse("not_a_board", "Thiết bị này không phải bảng tin điện tử.", 400)
    if device.revoked_at is not None:
        raise _refuse("device_revoked", "Bảng tin đã bị thu hồi thông tin đăng nhập.")
    row = BoardManifestRow.objects.filter(device_id=device.device_id).first()
    if row is None:
        raise _refuse(
            "manifest_missing", "Bảng tin chưa có lịch trình chiếu: hãy biên dịch lịch (loa signage compile)."
        )
    return row


def do_render_led(
    device: Device, *, actor: Any = None, now: dt.datetime | None = None, adapter: LedAdapter | None = None
) -> LedPackage:
    """Render the board's current manifest for its LED controller into ``package_dir(device)`` (replacing the previous
    package only once the new one is complete) and audit it."""
    row = check_led_board(device)
    manifest = pb.BoardManifest.model_validate_json(bytes(row.payload))
    adapter = adapter or FileAdapter()
    root = led_root()
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{device.device_id}-", dir=root))
    try:
        if isinstance(adapter, FileAdapter):
            package = adapter.render(manifest, work, now=now)
        else:
            package = adapter.render(manifest, work)
        final = package_dir(device.device_id)
        old = root / f".{device.device_id}-old-{time.monotonic_ns()}"
        if final.exists():
            final.rename(old)
        work.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with transaction.atomic():
        record(
            "signage.led_rendered",
            actor=actor,
            unit=device.unit,
            obj=device,
            message=f"Dựng tệp phát cho bộ điều khiển LED của bảng tin {device.label or device.device_id} "
            f"({len(package.slides)} trang, {package.video.get('duration_s', 0)} giây)",
            data={"manifest_version": package.manifest_version, "entry_id": package.entry_id,
                  "adapter": adapter.name, "video_sha256": package.video.get("sha256")},
        )  # fmt: skip
    return package


def render_led_job(job_id: int, device_id: str) -> dict[str, Any]:
    """The job (``signage.render_led``): the same as ``loa signage render-led <board>``."""
    device = Device.objects.select_related("unit").get(device_id=device_id)
    package = do_render_led(device)
    return {"slides": len(package.slides), "duration_s": package.video.get("duration_s"),
            "manifest_version": package.manifest_version}  # fmt: skip


# files a board may fetch from its package: the playlist, the video and the slide images
def package_file(device_id: str, name: str) -> Path | None:
    if name != PLAYLIST and name != VIDEO and not (name.startswith("slide-") and name.endswith(".png")):
        return None
    if "/" in name or ".." in name:
        return None
    path = package_dir(device_id) / name
    return path if path.is_file() else None


def read_package(device_id: str) -> dict[str, Any] | None:
    """The board's rendered ``playlist.json``, or ``None`` before the first render."""
    path = package_file(device_id, PLAYLIST)
    if path is None:
        return None
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None

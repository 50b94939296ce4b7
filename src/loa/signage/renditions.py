"""Board media made from what an officer uploads, validated by content and prepared per screen class.

* **image**: decoded by Pillow (never trusted by name or MIME type), at most ``LOA_SIGNAGE_MAX_PIXELS``, resized to
  fit each screen class (never enlarged), JPEG (PNG when it has transparency), metadata dropped;
* **video**: ffprobe, then ffmpeg to H.264/AAC MP4 (``+faststart``) fitted to each screen class, within the size and
  duration limits; every ffprobe/ffmpeg call runs under a time limit in its own process group
  (:func:`loa.media.audio._run`), killed with its children when the limit passes;
* **PDF page**: ``pdftoppm`` (poppler-utils) renders the page to PNG under a time limit, then as an image;
* **QR code**: segno, PNG.

Every refusal is a :class:`~loa.errors.Refusal` with a Vietnamese message; temporary files are removed whatever
happens (the caller's :class:`~loa.signage.store.Placed` removes stored files if the slide is not saved).
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import segno
from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from loa.errors import Refusal
from loa.media import audio
from loa.signage.layouts import SCREEN_SIZES
from loa.signage.store import Placed

DEFAULTS: dict[str, Any] = {
    "LOA_SIGNAGE_MAX_BYTES": 200 * 1024 * 1024,  # an upload (image, video, PDF)
    "LOA_SIGNAGE_MAX_PIXELS": 50_000_000,  # an image's width × height (decompression bombs)
    "LOA_SIGNAGE_VIDEO_MAX_S": 600.0,  # a video's duration
    "LOA_SIGNAGE_PROBE_TIMEOUT_S": 30.0,  # one ffprobe / pdftoppm call
    "LOA_SIGNAGE_TRANSCODE_TIMEOUT_S": None,  # one ffmpeg call; None = 60 s + 2 × the video's duration
}


def setting(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])


def _mb(n: float) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


def check_size(size: int) -> None:
    limit = int(setting("LOA_SIGNAGE_MAX_BYTES"))
    if size <= 0:
        raise Refusal("empty_file", "Tệp rỗng.", field="file")
    if size > limit:
        raise Refusal("too_large", f"Tệp lớn {_mb(size)}, vượt giới hạn {_mb(limit)}.", 413, field="file")


def _deadline(seconds: float) -> float:
    return time.monotonic() + seconds


def _timeout(what: str) -> Refusal:
    return Refusal(
        "timeout",
        f"Xử lý {what} quá thời gian cho phép nên đã dừng; tệp có thể bị hỏng. Hãy xuất lại tệp rồi tải lên lại.",
        field="file",
    )


def _run(cmd: list[str], seconds: float, what: str) -> Any:
    try:
        return audio._run(cmd, _deadline(seconds))
    except audio.MediaRejected as exc:
        if exc.code == "timeout":
            raise _timeout(what) from None
        raise


def _fit_box(w: int, h: int, box_w: int, box_h: int) -> tuple[int, int]:
    scale = min(box_w / w, box_h / h, 1.0)
    return max(1, round(w * scale)), max(1, round(h * scale))


# ---- images -------------------------------------------------------------------------------------------------


def _not_image() -> Refusal:
    return Refusal("not_image", "Tệp không phải là ảnh (hãy chọn ảnh JPEG, PNG hoặc WebP).", field="file")


def open_image(path: Path) -> Image.Image:
    """The decoded image (orientation applied), or a refusal: not an image, too many pixels, truncated."""
    check_size(path.stat().st_size)
    limit = int(setting("LOA_SIGNAGE_MAX_PIXELS"))
    try:
        with Image.open(path) as probe:
            if probe.format not in ("JPEG", "PNG", "WEBP", "GIF", "BMP"):
                raise _not_image()
            w, h = probe.size
            if w * h > limit:
                raise Refusal(
                    "image_too_large",
                    f"Ảnh {w}×{h} điểm ảnh, vượt giới hạn {limit:,} điểm ảnh.".replace(",", "."),
                    field="file",
                )
            probe.verify()
        with Image.open(path) as img:
            img.load()
            out = ImageOps.exif_transpose(img)
            return out.convert("RGBA" if _has_alpha(out) else "RGB")
    except Refusal:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise _not_image() from None


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)


def image_renditions(
    img: Image.Image, classes: Iterable[str], placed: Placed, work: Path
) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for cls in classes:
        box_w, box_h = SCREEN_SIZES[cls]
        size = _fit_box(img.width, img.height, box_w, box_h)
        resized = img.resize(size, Image.Resampling.LANCZOS) if size != img.size else img
        alpha = resized.mode == "RGBA"
        tmp = work / f"{cls}.{'png' if alpha else 'jpg'}"
        if alpha:
            resized.save(tmp, "PNG", optimize=True)
        else:
            resized.save(tmp, "JPEG", quality=85, optimize=True)
        out[cls] = placed.put(tmp, "image/png" if alpha else "image/jpeg", *size)
    return out


# ---- video --------------------------------------------------------------------------------------------------


def probe_video(path: Path) -> dict[str, Any]:
    """``{"width", "height", "duration_s", "has_audio"}`` of a video, or a refusal."""
    check_size(path.stat().st_size)
    cmd = [
        audio.ffprobe_path(), "-v", "error", "-hide_banner", "-print_format", "json", "-show_format",
        "-show_streams", "-protocol_whitelist", "file", "file:" + str(path.resolve()),
    ]  # fmt: skip
    res = _run(cmd, float(setting("LOA_SIGNAGE_PROBE_TIMEOUT_S")), "video")
    try:
        info = json.loads(res.stdout.decode("utf-8", "replace") or "{}") if res.returncode == 0 else {}
    except ValueError:
        info = {}
    fmt = info.get("format") or {}
    streams = info.get("streams") or []
    video = [
        s for s in streams
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]  # fmt: skip
    parts = str(fmt.get("format_name", "")).split(",")
    if not video or any(p.endswith("_pipe") or p == "image2" for p in parts):
        raise Refusal(
            "not_video", "Tệp không phải là video (hãy chọn MP4, WebM, MOV hoặc MKV).", field="file"
        )
    try:
        duration = float(fmt.get("duration") or video[0].get("duration") or 0)
    except (TypeError, ValueError):
        duration = 0.0
    if duration <= 0:
        raise Refusal("not_video", "Không đọc được thời lượng của video; tệp có thể bị hỏng.", field="file")
    limit = float(setting("LOA_SIGNAGE_VIDEO_MAX_S"))
    if duration > limit:
        raise Refusal(
            "video_too_long",
            f"Video dài {duration:.0f} giây, vượt giới hạn {limit:.0f} giây của bảng tin.",
            field="file",
        )
    return {
        "width": int(video[0].get("width") or 0),
        "height": int(video[0].get("height") or 0),
        "duration_s": duration,
        "has_audio": any(s.get("codec_type") == "audio" for s in streams),
    }


def video_renditions(
    path: Path, info: dict[str, Any], classes: Iterable[str], placed: Placed, work: Path
) -> dict[str, dict[str, object]]:
    limit = setting("LOA_SIGNAGE_TRANSCODE_TIMEOUT_S")
    seconds = float(limit) if limit is not None else 60.0 + 2 * info["duration_s"]
    out: dict[str, dict[str, object]] = {}
    for cls in classes:
        box_w, box_h = SCREEN_SIZES[cls]
        w, h = _fit_box(info["width"] or box_w, info["height"] or box_h, box_w, box_h)
        w, h = max(2, w - w % 2), max(2, h - h % 2)
        tmp = work / f"{cls}.mp4"
        cmd = [
            audio.ffmpeg_path(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-protocol_whitelist", "file", "-i", "file:" + str(path.resolve()),
            "-map", "0:v:0", "-map", "0:a:0?", "-vf", f"scale={w}:{h},format=yuv420p",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-profile:v", "main",
            "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-movflags", "+faststart", "-f", "mp4", str(tmp),
        ]  # fmt: skip
        res = _run(cmd, seconds, "video")
        if res.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
            raise Refusal(
                "video_unreadable",
                "Không chuyển được video sang định dạng bảng tin phát được; tệp có thể bị hỏng.",
                field="file",
            )
        out[cls] = placed.put(tmp, "video/mp4", w, h)
    return out


# ---- PDF ----------------------------------------------------------------------------------------------------


def pdf_page_image(path: Path, page: int, work: Path) -> Image.Image:
    check_size(path.stat().st_size)
    with path.open("rb") as fh:
        if fh.read(5) != b"%PDF-":
            raise Refusal("not_pdf", "Tệp không phải là PDF.", field="file")
    if page < 1:
        raise Refusal("page_invalid", "Số trang phải từ 1 trở lên.", field="page")
    binary = shutil.which("pdftoppm")
    if binary is None:
        raise Refusal(
            "pdftoppm_missing",
            "Máy chủ chưa cài poppler-utils (pdftoppm) nên không đọc được PDF. Hãy báo quản trị hệ thống.",
        )
    longest = max(max(size) for size in SCREEN_SIZES.values())
    out = work / "page"
    cmd = [binary, "-f", str(page), "-l", str(page), "-png", "-scale-to", str(longest), "-singlefile",
           str(path.resolve()), str(out)]  # fmt: skip
    res = _run(cmd, float(setting("LOA_SIGNAGE_PROBE_TIMEOUT_S")), "tệp PDF")
    png = out.with_suffix(".png")
    if res.returncode != 0 or not png.exists():
        if "Wrong page range" in res.stderr or "first page" in res.stderr.lower():
            raise Refusal("page_invalid", f"Tệp PDF không có trang {page}.", field="page")
        raise Refusal("not_pdf", "Không đọc được tệp PDF; tệp có thể bị hỏng hoặc có mật khẩu.", field="file")
    return open_image(png)


# ---- QR -----------------------------------------------------------------------------------------------------


def qr_rendition(url: str, placed: Placed, work: Path) -> dict[str, object]:
    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="png", scale=10, border=2)
    tmp = work / "qr.png"
    tmp.write_bytes(buf.getvalue())
    with Image.open(tmp) as img:
        size = img.size
    return placed.put(tmp, "image/png", *size)


def workdir() -> tempfile.TemporaryDirectory[str]:
    from loa.signage.store import root

    root().mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix=".work-", dir=root())

"""Feedback photos: checked by content with Pillow, bounded in bytes and pixels, re-encoded to a JPEG without any
metadata (EXIF with the phone's GPS, XMP, maker notes, trailing bytes: all gone; docs/adr/0017).

Stored under ``MEDIA_ROOT/feedback/`` with a random name, never served by the public media URL: the tracking page
(its owner) and the operators who may see the feedback get them through views.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from loa.errors import Refusal

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 2048
MAX_PHOTOS = 3
ACCEPTED = {"JPEG", "PNG", "WEBP"}


def max_bytes() -> int:
    return int(getattr(settings, "LOA_FEEDBACK_MAX_PHOTO_BYTES", MAX_BYTES))


def max_photos() -> int:
    return int(getattr(settings, "LOA_FEEDBACK_MAX_PHOTOS", MAX_PHOTOS))


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes  # the re-encoded JPEG
    width: int
    height: int
    sha256: str


def check_photo(upload: IO[bytes], name: str = "", size: int | None = None) -> CleanPhoto:
    """The photo re-encoded without metadata, or a refusal in Vietnamese that names the file."""
    label = name or _("ảnh")
    limit = max_bytes()
    if size is None:
        upload.seek(0, os.SEEK_END)
        size = upload.tell()
    upload.seek(0)
    if size > limit:
        raise Refusal(
            "photo_too_large",
            _(
                "Ảnh “%(name)s” nặng %(mb)s MB, vượt giới hạn %(max)s MB. "
                "Hãy chụp lại ở chất lượng thấp hơn hoặc chọn ảnh khác."
            )
            % {"name": label, "mb": f"{size / 1048576:.1f}", "max": limit // 1048576},
            field="photos",
        )
    if size == 0:
        raise Refusal("photo_empty", _("Tệp “%(name)s” trống.") % {"name": label}, field="photos")
    pixels = int(getattr(settings, "LOA_FEEDBACK_MAX_PIXELS", MAX_PIXELS))
    not_image = Refusal(
        "photo_not_image",
        _("Tệp “%(name)s” không phải là ảnh JPEG, PNG hoặc WebP (hoặc ảnh bị hỏng).") % {"name": label},
        field="photos",
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as image:
                if image.format not in ACCEPTED:
                    raise not_image
                if image.width * image.height > pixels:
                    raise Refusal(
                        "photo_too_many_pixels",
                        _("Ảnh “%(name)s” quá lớn (%(w)s×%(h)s điểm ảnh).")
                        % {"name": label, "w": image.width, "h": image.height},
                        field="photos",
                    )
                image.load()
                upright = ImageOps.exif_transpose(image)
                rgb = upright.convert("RGB")
    except Refusal:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
        raise not_image from exc
    except Image.DecompressionBombError as exc:
        raise Refusal(
            "photo_too_many_pixels", _("Ảnh “%(name)s” quá lớn.") % {"name": label}, field="photos"
        ) from exc
    rgb.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    rgb.save(
        out, format="JPEG", quality=85, optimize=True
    )  # no exif=, no icc: nothing of the original's metadata
    data = out.getvalue()
    return CleanPhoto(data=data, width=rgb.width, height=rgb.height, sha256=hashlib.sha256(data).hexdigest())


def store_photo(photo: CleanPhoto) -> str:
    """Write the clean JPEG; returns its path relative to MEDIA_ROOT."""
    relative = f"feedback/{secrets.token_hex(2)}/{secrets.token_urlsafe(18)}.jpg"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".part")
    temporary.write_bytes(photo.data)
    os.replace(temporary, target)
    return relative


def photo_file(relative: str) -> Path:
    return Path(settings.MEDIA_ROOT) / relative


def remove_photo_file(relative: str) -> None:
    try:
        photo_file(relative).unlink()
    except FileNotFoundError:
        pass

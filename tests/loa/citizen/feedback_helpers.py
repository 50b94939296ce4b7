"""Helpers of the feedback tests: photos made with Pillow (one with GPS EXIF), and a submission through the form."""

from __future__ import annotations

import io
import os
import re
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

GPS_IFD = 0x8825


def photo_with_gps(width: int = 640, height: int = 480, fmt: str = "JPEG") -> bytes:
    """A photo as a phone makes it: EXIF with the phone's make and the GPS position of the citizen's home."""
    image = Image.new("RGB", (width, height), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model X"  # Model
    exif[GPS_IFD] = {1: "N", 2: (21.0, 1.0, 30.0), 3: "E", 4: (105.0, 51.0, 12.0)}
    out = io.BytesIO()
    image.save(out, format=fmt, exif=exif)
    return out.getvalue()


def noise_png(width: int, height: int) -> bytes:
    """A PNG that does not compress (random pixels): its file is as large as its bitmap."""
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, format="PNG")
    return out.getvalue()


def has_exif(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as image:
        return bool(image.getexif()) or "exif" in image.info


FORM = {
    "category": "moi-truong",
    "text": "Rác thải đổ trộm ở đầu ngõ 12 đã ba ngày chưa được thu gom, bốc mùi.",
    "address": "Ngõ 12, tổ dân phố 1",
    "latitude": "20.951",
    "longitude": "107.101",
    "consent": "yes",
}


def submit(client: Client, commune: str, photos: list[bytes] | None = None, **fields: Any) -> Any:
    data: dict[str, Any] = {"xa": commune, **FORM, **fields}
    if photos:
        data["photos"] = [
            SimpleUploadedFile(f"anh-{i}.jpg", p, content_type="image/jpeg") for i, p in enumerate(photos)
        ]
    return client.post("/congdan/phan-anh/", data)


def token_of(response: Any) -> str:
    match = re.search(r"/congdan/phan-anh/theo-doi/([\w-]+)/", response["Location"])
    assert match, response["Location"]
    return match.group(1)

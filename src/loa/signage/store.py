"""Board files by sha256, like the media store: ``MEDIA_ROOT/boards/aa/bb/<sha256>.<ext>``.

Files are written to a private temporary folder first and moved into place atomically
(:func:`loa.media.audio._place`); :class:`Placed` remembers which files this call created, so a refusal or a failed
transaction removes exactly those and nothing that another slide already shares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from loa.media import audio
from loa.media.audio import sha256_file
from loa.media.storage import check_free_space, classify

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "video/mp4": "mp4", "video/webm": "webm"}
_NAME = re.compile(r"^([0-9a-f]{64})\.(jpg|png|mp4|webm)$")


def root() -> Path:
    return Path(settings.MEDIA_ROOT) / "boards"


def path_of(sha256: str, ext: str) -> Path:
    return root() / sha256[:2] / sha256[2:4] / f"{sha256}.{ext}"


def parse_name(name: str) -> tuple[str, str] | None:
    """``<sha256>.<ext>`` → (sha256, ext), or None for anything else (no path can be smuggled in)."""
    m = _NAME.match(name)
    return (m.group(1), m.group(2)) if m else None


def url_of(sha256: str, ext: str) -> str:
    return f"/signage/files/{sha256}.{ext}"


@dataclass
class Placed:
    created: list[Path] = field(default_factory=list)

    def put(self, tmp: Path, mime: str, width: int, height: int) -> dict[str, object]:
        """Move ``tmp`` into the store under its sha256; the rendition's description."""
        ext = EXTENSIONS[mime]
        digest = sha256_file(tmp)
        final = path_of(digest, ext)
        size = tmp.stat().st_size
        check_free_space(root(), size)
        try:
            if audio._place(tmp, final):
                self.created.append(final)
        except OSError as exc:
            raise classify(exc, root(), size) from exc
        return {"sha256": digest, "mime": mime, "bytes": size, "width": width, "height": height, "ext": ext}

    def discard(self) -> None:
        for p in self.created:
            p.unlink(missing_ok=True)
        self.created.clear()

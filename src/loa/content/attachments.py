"""Image and document attachments of bulletins: validated by content, stored by sha256, one library row each.

Audio never comes here: it goes through the audio pipeline (:mod:`loa.media`), which normalises it for the
loudspeakers. Images and documents are kept byte for byte, after a check of what they really are (magic bytes
and structure, never the file name) and of their size. Anything else is refused with a Vietnamese message and
leaves nothing behind.

Layout: ``MEDIA_ROOT/files/ab/cd/<sha256>.<ext>`` (written under a temporary name, then ``os.replace``).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop

from loa.audit.log import record
from loa.errors import Refusal
from loa.media.models import MediaAsset
from loa.media.services import write_capped
from loa.units.models import Unit

#: Largest attachment (images and documents); settings.LOA_ATTACHMENT_MAX_BYTES overrides it.
DEFAULT_MAX_BYTES = 20 * 1024 * 1024


class AttachmentRejected(Refusal):
    """A file refused as a bulletin attachment."""


@dataclass(frozen=True)
class FileType:
    kind: str  # MediaAsset.Kind
    ext: str
    mime: str
    label: str


PNG = FileType("image", "png", "image/png", "ảnh PNG")
JPEG = FileType("image", "jpg", "image/jpeg", "ảnh JPEG")
GIF = FileType("image", "gif", "image/gif", "ảnh GIF")
WEBP = FileType("image", "webp", "image/webp", "ảnh WebP")
PDF = FileType("document", "pdf", "application/pdf", "tài liệu PDF")
DOCX = FileType(
    "document",
    "docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "văn bản Word (.docx)",
)
XLSX = FileType(
    "document",
    "xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "bảng tính Excel (.xlsx)",
)
ODT = FileType("document", "odt", "application/vnd.oasis.opendocument.text", "văn bản OpenDocument (.odt)")
DOC = FileType("document", "doc", "application/msword", "văn bản Word cũ (.doc)")
ALLOWED_TEXT = gettext_noop(
    "ảnh PNG, JPEG, GIF, WebP; tài liệu PDF, Word (.docx, .doc), Excel (.xlsx), OpenDocument (.odt)"
)


def max_bytes() -> int:
    return int(getattr(settings, "LOA_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def _zip_type(path: Path) -> FileType | None:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "mimetype" in names:
                mimetype = z.read("mimetype")[:100].decode("ascii", "replace").strip()
                return ODT if mimetype == ODT.mime else None
            if "[Content_Types].xml" in names:
                if any(n.startswith("word/") for n in names):
                    return DOCX
                if any(n.startswith("xl/") for n in names):
                    return XLSX
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        return None
    return None


def sniff(path: Path) -> FileType:
    """What the file is, by content; refuses anything that is not an allowed image or document."""
    with path.open("rb") as fh:
        head = fh.read(64)
    if not head:
        raise AttachmentRejected("empty_file", "Tệp rỗng: không có gì để đính kèm.")
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return DOC
    if head.startswith(b"PK\x03\x04"):
        found = _zip_type(path)
        if found is not None:
            return found
        raise AttachmentRejected(
            "attachment_type_not_allowed",
            f"Tệp nén này không phải văn bản được hỗ trợ. Chỉ nhận {ALLOWED_TEXT}.",
        )
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<svg", b"<?xml", b"<!doctype", b"<html")):
        what = "ảnh SVG / trang web"
    elif head.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3", b"OggS", b"fLaC")) or head[4:8] == b"ftyp":
        what = "âm thanh hoặc video — hãy dùng mục “Âm thanh” ở trên"
    elif head.startswith((b"MZ", b"\x7fELF", b"#!")):
        what = "chương trình"
    else:
        what = "loại không nhận ra"
    raise AttachmentRejected(
        "attachment_type_not_allowed",
        f"Tệp này có vẻ là {what}, không đính kèm được. Chỉ nhận {ALLOWED_TEXT}.",
    )


def store_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "files"


def stored_path(asset: MediaAsset) -> Path:
    sha = asset.sha256
    return store_root() / sha[:2] / sha[2:4] / f"{sha}.{asset.original_ext or 'bin'}"


def save_chunks(chunks: Iterable[bytes]) -> Path:
    """Write an upload to a temporary file next to the store, cut off past the size limit."""
    tmp = store_root() / ".tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / secrets.token_hex(12)
    limit = max_bytes()

    def refuse(total: int) -> None:
        raise AttachmentRejected(
            "too_large", f"Tệp quá lớn: tối đa {limit // (1024 * 1024)} MB cho một tệp đính kèm."
        )

    return write_capped(chunks, path, limit, refuse)


def do_ingest_attachment(
    path: Path, *, unit: Unit, actor: Any, original_name: str, request: Any = None
) -> MediaAsset:
    """Check ``path`` (an image or a document), store it by sha256 and return the unit's library row.

    The caller owns ``path`` (it is read, never moved). Idempotent by content for the same unit.
    """
    size = path.stat().st_size
    if size == 0:
        raise AttachmentRejected("empty_file", "Tệp rỗng: không có gì để đính kèm.")
    if size > max_bytes():
        raise AttachmentRejected(
            "too_large", f"Tệp quá lớn: tối đa {max_bytes() // (1024 * 1024)} MB cho một tệp đính kèm."
        )
    ftype = sniff(path)
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    sha = digest.hexdigest()
    known = MediaAsset.objects.filter(unit=unit, sha256=sha).first()
    if known is not None:
        return known
    name = os.path.basename((original_name or "").replace("\\", "/"))
    name = "".join(c for c in name if c.isprintable()).strip()[:255] or f"tep-dinh-kem.{ftype.ext}"
    asset = MediaAsset(
        kind=ftype.kind,
        sha256=sha,
        mime_type=ftype.mime,
        size_bytes=size,
        original_sha256=sha,
        original_name=name,
        original_format=ftype.label,
        original_ext=ftype.ext,
        unit=unit,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    dest = stored_path(asset)
    placed = False
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{secrets.token_hex(8)}.part")
        try:
            with path.open("rb") as src, tmp.open("wb") as out:
                for block in iter(lambda: src.read(1 << 20), b""):
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dest)
            placed = True
        finally:
            tmp.unlink(missing_ok=True)
    try:
        with transaction.atomic():
            asset.save()
            record(
                "media.ingested",
                actor=actor,
                request=request,
                unit=unit,
                obj=asset,
                message=f"Thêm {ftype.label} “{name}” ({size} byte)"[:500],
                data={"sha256": sha, "kind": ftype.kind, "mime": ftype.mime, "size": size},
            )
    except IntegrityError:
        known = MediaAsset.objects.filter(unit=unit, sha256=sha).first()
        if known is not None:
            return known
        raise
    except BaseException:
        if placed and not MediaAsset.objects.filter(sha256=sha).exists():
            dest.unlink(missing_ok=True)
        raise
    return asset

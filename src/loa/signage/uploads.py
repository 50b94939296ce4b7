"""Taking a slide from a multipart request (API and console alike): the fields, and the file saved to a private
temporary copy that is removed whatever happens."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from loa.content.access import access_bulletin
from loa.errors import Refusal
from loa.media.uploads import upload_refused
from loa.signage import renditions, store
from loa.signage.services import SlideInput


@contextlib.contextmanager
def slide_input(request: Any, token: Any = None) -> Iterator[SlideInput]:
    if upload_refused(request):
        renditions.check_size(int(renditions.setting("LOA_SIGNAGE_MAX_BYTES")) + 1)  # 413 too_large
    post = request.POST
    kind = post.get("kind", "").strip()
    data = SlideInput(
        kind=kind,
        title=post.get("title", ""),
        text=post.get("text", ""),
        screen_classes=post.getlist("screen_classes") or None,
    )
    try:
        data.page = int(post.get("page") or 1)
    except ValueError:
        raise Refusal("page_invalid", "Số trang phải là một số.", field="page") from None
    if kind == "bulletin":
        bulletin_id = post.get("bulletin_id", "").strip()
        if not bulletin_id.isdigit():
            raise Refusal("bulletin_required", "Chọn bản tin đã phát hành.", field="bulletin_id")
        data.bulletin = access_bulletin(request.user, int(bulletin_id), token=token)
    upload = request.FILES.get("file")
    path: Path | None = None
    try:
        if upload is not None and kind in ("image", "video", "pdf_page"):
            renditions.check_size(int(upload.size or 0))
            store.root().mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=".upload-", dir=store.root())
            path = Path(name)
            with os.fdopen(fd, "wb") as fh:
                for chunk in upload.chunks():
                    fh.write(chunk)
            data.file, data.file_name = path, (upload.name or "")[:255]
        yield data
    finally:
        if path is not None:
            path.unlink(missing_ok=True)

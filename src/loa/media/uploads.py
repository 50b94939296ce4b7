"""Uploads are capped while they stream in: past ``LOA_MEDIA_MAX_BYTES`` the upload stops, nothing is kept.

Installed first in ``FILE_UPLOAD_HANDLERS``; a view sees the refusal through :func:`upload_refused`.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from loa.media.audio import setting

_FLAG = "_loa_upload_too_large"


class CappedUploadHandler(FileUploadHandler):
    """Passes data on to the next handler; stops the upload when one request's files exceed the cap."""

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.total = 0
        self.limit = int(setting("LOA_MEDIA_MAX_BYTES"))

    def handle_raw_input(
        self, input_data: Any, META: Any, content_length: int, boundary: Any, encoding: Any = None
    ) -> tuple[QueryDict, MultiValueDict] | None:
        # A declared body far over the cap is refused before a byte of it is read: empty form, no files.
        if content_length and content_length > self.limit + 1024 * 1024:
            if self.request is not None:
                setattr(self.request, _FLAG, True)
            return QueryDict(), MultiValueDict()
        return None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.total += len(raw_data)
        if self.total > self.limit:
            self._refuse()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None

    def _refuse(self) -> None:
        if self.request is not None:
            setattr(self.request, _FLAG, True)
        raise StopUpload(connection_reset=True)


def upload_refused(request: Any) -> bool:
    """True when the request's upload was cut off for being too large."""
    return bool(getattr(request, _FLAG, False))

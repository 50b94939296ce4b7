"""The media cache: files are fetched over HTTPS and stored by their sha256, verified before they are kept."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

import httpx

MAX_MEDIA_BYTES = 512 * 1024 * 1024


class MediaError(Exception):
    """Media that could not be fetched or whose hash did not match. ``code`` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class MediaFetcher(Protocol):
    def cached_path(self, sha256: str) -> Path | None:
        """The cached file of ``sha256``, or ``None``; never touches the network."""
        ...

    def fetch(self, url: str, sha256: str) -> Path:
        """The cached file, downloading it first if needed. Raises :class:`MediaError`."""
        ...


class MediaCache:
    """``<directory>/<sha256>`` files; a download goes to a temporary file, is hashed, then renamed atomically."""

    def __init__(self, directory: Path, client: httpx.Client | None = None, timeout: float = 60.0) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=True)

    def cached_path(self, sha256: str) -> Path | None:
        path = self.directory / sha256
        return path if path.is_file() else None

    def fetch(self, url: str, sha256: str) -> Path:
        cached = self.cached_path(sha256)
        if cached is not None:
            return cached
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".dl-", suffix=".part")
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as fh, self.client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise MediaError(
                        "download_failed", f"Tải tệp âm thanh thất bại: HTTP {response.status_code} ({url})."
                    )
                for chunk in response.iter_bytes(64 * 1024):
                    size += len(chunk)
                    if size > MAX_MEDIA_BYTES:
                        raise MediaError(
                            "too_large", f"Tệp âm thanh vượt quá {MAX_MEDIA_BYTES} byte ({url})."
                        )
                    digest.update(chunk)
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            if digest.hexdigest() != sha256:
                raise MediaError(
                    "sha256_mismatch",
                    f"Mã băm sha256 của tệp tải về không khớp: {digest.hexdigest()} ≠ {sha256} ({url}).",
                )
            path = self.directory / sha256
            os.replace(tmp, path)
            return path
        except httpx.HTTPError as exc:
            raise MediaError("download_failed", f"Tải tệp âm thanh thất bại: {exc} ({url}).") from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


class NullFetcher:
    """For simulation: trusts every url and hash and downloads nothing."""

    def cached_path(self, sha256: str) -> Path | None:
        return Path(os.devnull)

    def fetch(self, url: str, sha256: str) -> Path:
        return Path(os.devnull)

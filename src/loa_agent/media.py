"""The media cache: files are fetched over HTTPS and stored by their sha256, verified before they are kept.

Media that is not public (anything but a published bulletin's) is served to a device only with its own MQTT
credentials as HTTP Basic auth; the runtime passes them (``auth``) for URLs of its own server and never to other
hosts (docs/protocol.md, "Media")."""

from __future__ import annotations

import functools
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

    def fetch(self, url: str, sha256: str, auth: tuple[str, str] | None = None) -> Path:
        """The cached file, downloading it first if needed (with ``auth`` as HTTP Basic credentials).
        Raises :class:`MediaError`."""
        ...


class CacheDirectory:
    """``<directory>/<sha256>``: where a cache keeps the files it verified (what both caches share)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def cached_path(self, sha256: str) -> Path | None:
        path = self.directory / sha256
        return path if path.is_file() else None


class MediaCache(CacheDirectory):
    """``<directory>/<sha256>`` files; a download goes to a temporary file, is hashed, then renamed atomically."""

    def __init__(self, directory: Path, client: httpx.Client | None = None, timeout: float = 60.0) -> None:
        super().__init__(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=True)

    def fetch(self, url: str, sha256: str, auth: tuple[str, str] | None = None) -> Path:
        cached = self.cached_path(sha256)
        if cached is not None:
            return cached
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".dl-", suffix=".part")
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as fh, self.client.stream("GET", url, auth=auth) as response:
                if response.status_code in (401, 403):
                    raise MediaError(
                        "media_forbidden",
                        f"Máy chủ từ chối tải tệp âm thanh: HTTP {response.status_code} ({url}).",
                    )
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


@functools.lru_cache(maxsize=256)
def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port of ``url`` (credentials go only to the origin they belong to). Remembered: every
    download asks it for the same few URLs (the server's own, the file's)."""
    parts = httpx.URL(url)
    return parts.scheme, parts.host, parts.port


_DEVNULL = Path(os.devnull)


class NullFetcher:
    """For simulation: trusts every url and hash and downloads nothing."""

    def cached_path(self, sha256: str) -> Path | None:
        return _DEVNULL

    def fetch(self, url: str, sha256: str, auth: tuple[str, str] | None = None) -> Path:
        return _DEVNULL

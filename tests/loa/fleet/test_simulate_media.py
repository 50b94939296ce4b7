"""'loa simulate' fetches media like a real cluster: 'done' means played, a download that fails is acked 'failed'
with its reason (the demo's clusters with a wrong server address acked 'done' without fetching anything)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loa.fleet.management.commands.simulate import media_fetcher
from loa_agent.media import MediaCache, MediaError, NullFetcher
from loa_protocol.ports import release_port, reserve_port


def test_simulated_clusters_download_and_check_their_media(settings: object, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path  # type: ignore[attr-defined]
    fetcher = media_fetcher({})
    assert isinstance(fetcher, MediaCache)
    assert fetcher.cached_path("ab" * 32) is None  # nothing is taken for granted
    port = reserve_port()  # nothing listens there: a wrong server address
    try:
        with pytest.raises(MediaError) as exc:
            fetcher.fetch(f"http://127.0.0.1:{port}/media/files/{'ab' * 32}.mp3", "ab" * 32)
    finally:
        release_port(port)
    assert exc.value.code == "download_failed"
    assert isinstance(media_fetcher({"trust_media": True}), NullFetcher)


def test_media_base_url_is_the_prefix_of_every_media_url(settings: object) -> None:
    """protocol.md §6: media URLs start with the enrolment's media_base_url (it was '<server>/files/', which no media
    URL starts with, while the files are served under '<server>/media/files/')."""
    from loa.fleet.services import device_urls
    from loa.playable.resolve import media_url

    settings.LOA_PUBLIC_URL = "https://loa.example.vn"  # type: ignore[attr-defined]
    base, manifest = device_urls("loa-3f9a0c12b7e4")
    assert base == "https://loa.example.vn/media/"
    assert media_url("ab" * 32) == f"{base}files/{'ab' * 32}.mp3"
    assert manifest == "https://loa.example.vn/api/v1/broadcast/manifests/loa-3f9a0c12b7e4"

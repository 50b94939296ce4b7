"""The address ``loa serve`` / ``loa demo`` answer on, given to everything that builds links (device enrolment
QR codes, play commands, manifests, media) when ``LOA_PUBLIC_URL`` is not set: a demo on ``--port 8765`` hands out
``http://127.0.0.1:8765/…``, never the default port."""

from __future__ import annotations

import os

from django.conf import settings

ANY_ADDRESS = {"0.0.0.0", "::", ""}  # noqa: S104 - a listening address, not a bind


def use_served_url(host: str, port: int) -> str:
    """Make ``settings.LOA_PUBLIC_URL`` (and the children's environment) the served address unless the operator
    set ``LOA_PUBLIC_URL`` (a reverse proxy's name); returns the URL in force."""
    if not os.environ.get("LOA_PUBLIC_URL", "").strip():
        name = "127.0.0.1" if host in ANY_ADDRESS else (f"[{host}]" if ":" in host else host)
        url = f"http://{name}:{port}"
        settings.LOA_PUBLIC_URL = url
        os.environ["LOA_PUBLIC_URL"] = url
    return str(settings.LOA_PUBLIC_URL).rstrip("/")

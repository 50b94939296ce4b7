"""ASGI entry point for the web process."""

import logging
import os
import threading

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loa.settings")
django_application = get_asgi_application()

# The citizens' feed (page and JSON) is replayed from memory while nothing changed (docs/citizen.md, "Tải cao").
from loa.citizen.public_fastpath import PublicFeedFastPath  # noqa: E402  (after Django is set up)

application = PublicFeedFastPath(django_application)


def _warm_up() -> None:
    from loa.broadcast.emergency import warm_emergency_path

    try:
        seconds = warm_emergency_path()
    except Exception:  # a warm-up that fails costs the first emergency its one-time work, nothing else
        logging.getLogger(__name__).warning("không chuẩn bị trước được đường phát khẩn cấp", exc_info=True)
        return
    logging.getLogger(__name__).debug("đã chuẩn bị đường phát khẩn cấp: %s", seconds)


# the emergency path's one-time costs (URL table, the speech normalizer) paid now, not by the first emergency
warm_up = threading.Thread(target=_warm_up, name="loa-warm-up", daemon=True)
warm_up.start()

"""ASGI entry point for the web process."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loa.settings")
django_application = get_asgi_application()

# The citizens' feed (page and JSON) is replayed from memory while nothing changed (docs/citizen.md, "Tải cao").
from loa.citizen.public_fastpath import PublicFeedFastPath  # noqa: E402  (after Django is set up)

application = PublicFeedFastPath(django_application)

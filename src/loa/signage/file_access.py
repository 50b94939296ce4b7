"""Who may fetch a board file (``GET /signage/files/<sha256>.<ext>``): the address is the content's sha256, which
is in every manifest, so knowing it is not enough (the media library's rule, docs/media.md):

* a **board**, with its own credentials as HTTP Basic auth (:func:`loa.fleet.device_auth.authenticated_device`),
  for a file its current signed manifest names;
* a **signed-in user**, for a file of a slide of a unit they may see (``schedule.view``) — a commune never fetches
  another commune's board content;
* anyone else: 401 without credentials, 404 with credentials that do not reach it.
"""

from __future__ import annotations

from typing import Any

from loa.accounts.access import access_units
from loa.fleet.device_auth import authenticated_device, basic_credentials
from loa.signage.models import BoardManifestRow, SlideFile
from loa.signage.store import url_of


def may_fetch(request: Any, sha256: str, ext: str) -> int:
    """200 when the request may have the file, else 401 or 404."""
    device = authenticated_device(request)
    if device is not None:
        row = BoardManifestRow.objects.filter(device_id=device.device_id).only("payload").first()
        if row is not None and url_of(sha256, ext).encode() in bytes(row.payload):
            return 200
        return 404
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        visible = SlideFile.objects.filter(
            sha256=sha256, ext=ext, slide__unit__in=access_units(user, "schedule.view")
        ).exists()
        return 200 if visible else 404
    return 404 if basic_credentials(request) is not None else 401

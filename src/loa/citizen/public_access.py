"""The public app's ``access_*`` chokepoints: anyone may read, but only what is public.

A commune is public while it is active; a bulletin while it is published and within its validity
(:func:`loa.citizen.public_feed.public_bulletins`). Anything else is "not found" — a draft's existence does not leak
any more than its text. The same rule guards a bulletin's page, its JSON, its audio and its images.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from loa.citizen.public_feed import commune_by_code, public_bulletins
from loa.content.models import Attachment, Bulletin
from loa.errors import Refusal
from loa.units.models import Unit


class NotPublic(Refusal):
    status = 404


# a unit's code as the registry keeps it (at most 16 letters, digits, dots, dashes): anything else is no commune,
# answered before the cache or the database is asked (a path segment from the street becomes no cache key)
UNIT_CODE = re.compile(r"[0-9A-Za-z._-]{1,16}")


def check_public_code(code: str) -> None:
    if not UNIT_CODE.fullmatch(code):
        raise NotPublic("commune_not_found", _("Không tìm thấy xã/phường này."))


def access_public_commune(code: str) -> Unit:
    check_public_code(code)
    commune = commune_by_code(code)
    if commune is None:
        raise NotPublic("commune_not_found", _("Không tìm thấy xã/phường này."))
    return commune


def access_public_bulletin(bulletin_id: int) -> Bulletin:
    """A bulletin anyone may read now, or a 404 (a draft, an unpublished, cancelled or expired bulletin)."""
    b = public_bulletins().select_related("origin_unit", "audio_asset").filter(pk=bulletin_id).first()
    if b is None:
        raise NotPublic(
            "bulletin_not_public",
            _("Không tìm thấy bản tin này, hoặc bản tin đã hết hiệu lực hay bị thu hồi."),
        )
    return b


def access_public_image(bulletin_id: int, attachment_id: int) -> Attachment:
    """An image attached to a bulletin anyone may read now, or a 404."""
    b = access_public_bulletin(bulletin_id)
    att = (
        Attachment.objects.select_related("asset")
        .filter(pk=attachment_id, bulletin=b, kind=Attachment.Kind.IMAGE, asset__kind="image")
        .first()
    )
    if att is None:
        raise NotPublic("image_not_found", _("Không tìm thấy ảnh này."))
    return att

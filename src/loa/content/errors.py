"""The refusals of the bulletin domain (one :class:`loa.errors.Refusal` each)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from loa.errors import Refusal


class BulletinError(Refusal):
    """A refused request on a bulletin; ``field`` names the form field it is about, if any."""

    def __init__(self, code: str, message: str, status: int = 400, field: str = "") -> None:
        super().__init__(code, message, status, field=field)


class BulletinNotFound(BulletinError):
    def __init__(self) -> None:
        super().__init__(
            "bulletin_not_found", _("Không tìm thấy bản tin, hoặc bản tin nằm ngoài phạm vi của bạn."), 404
        )

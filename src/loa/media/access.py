"""Who may use a media asset: the one chokepoint for assets (pages, API, "play now" commands).

An asset belongs to its owner unit: ``media.*`` actions on that unit (or, for a system asset, system admins)
allow it. Reading an asset (``media.view``) is also allowed through any **published** bulletin the user can see
that carries it (its audio, or an attachment): the operator of a commune that received a province bulletin in
its inbox listens to it and plays it on the commune's loudspeakers, without any right on the province's library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q
from django.http import Http404

from loa.accounts.access import AccessDenied, access_units, can, is_system_admin
from loa.content.access import visible_bulletins
from loa.content.models import State
from loa.media.models import MediaAsset

if TYPE_CHECKING:
    from loa.accounts.models import ApiToken

VIEW = "media.view"


class MediaAssetNotFound(Http404):
    def __init__(
        self, message: str = "Không tìm thấy tệp trong thư viện, hoặc tệp nằm ngoài phạm vi của bạn."
    ) -> None:
        super().__init__(message)
        self.message = message


def _via_published_bulletin(user: Any, asset: MediaAsset, token: ApiToken | None) -> bool:
    if token is not None and not token.allows(VIEW):
        return False
    uses = Q(audio_asset=asset) | Q(attachments__asset=asset)
    return visible_bulletins(user, token).filter(uses, state=State.PUBLISHED).exists()


def can_use_media_asset(
    user: Any, asset: MediaAsset, action: str = VIEW, token: ApiToken | None = None
) -> bool:
    if asset.unit is None:
        allowed = is_system_admin(user) and (token is None or token.allows(action))
    else:
        allowed = can(user, asset.unit, action, token)
    return allowed or (action == VIEW and _via_published_bulletin(user, asset, token))


def access_media_asset(
    user: Any, asset: MediaAsset | None, action: str = VIEW, token: ApiToken | None = None
) -> MediaAsset:
    """Allow ``action`` on ``asset`` or raise: 404 when the user may not even see it, 403 otherwise."""
    if asset is None:
        raise MediaAssetNotFound()
    if can_use_media_asset(user, asset, action, token):
        return asset
    if action != VIEW and can_use_media_asset(user, asset, VIEW, token):
        raise AccessDenied()  # visible (own unit's asset, or through a bulletin) but not this action
    raise MediaAssetNotFound()


def access_media_asset_id(
    user: Any, asset_id: Any, action: str = VIEW, token: ApiToken | None = None
) -> MediaAsset:
    try:
        pk = int(asset_id)
    except (TypeError, ValueError):
        raise MediaAssetNotFound() from None
    return access_media_asset(
        user, MediaAsset.objects.select_related("unit").filter(pk=pk).first(), action, token
    )


def usable_media_assets(user: Any, token: ApiToken | None = None) -> Any:
    """Audio assets the user may play: their units' library and the audio of published bulletins they see."""
    own = Q(unit__in=access_units(user, VIEW, token))
    if is_system_admin(user) and (token is None or token.allows(VIEW)):
        own |= Q(unit__isnull=True)
    published = visible_bulletins(user, token).filter(state=State.PUBLISHED)
    via = Q(pk__in=published.filter(audio_asset__isnull=False).values("audio_asset"))
    if token is not None and not token.allows(VIEW):
        via = Q(pk__in=[])
    return MediaAsset.objects.filter(own | via, kind=MediaAsset.Kind.AUDIO).select_related("unit")

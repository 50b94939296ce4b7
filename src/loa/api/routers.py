"""Every domain's router is mounted here."""

from __future__ import annotations

from ninja import NinjaAPI


def mount(api: NinjaAPI) -> None:
    from loa.accounts.api import router as accounts_router
    from loa.analytics.api import router as analytics_router
    from loa.audit.api import router as audit_router
    from loa.broadcast.api import router as broadcast_router
    from loa.citizen.public_api import router as public_router
    from loa.content.api import router as content_router
    from loa.fleet.api import router as fleet_router
    from loa.media.api import router as media_router
    from loa.signage.api import router as signage_router
    from loa.tts.api import router as tts_router
    from loa.units.api import router as units_router

    api.add_router("/units", units_router, tags=["units"])
    api.add_router("/accounts", accounts_router, tags=["accounts"])
    api.add_router("/audit", audit_router, tags=["audit"])
    api.add_router("/media", media_router, tags=["media"])
    api.add_router("/tts", tts_router, tags=["tts"])
    api.add_router("/bulletins", content_router, tags=["bulletins"])
    api.add_router("/fleet", fleet_router, tags=["fleet"])
    api.add_router("/broadcast", broadcast_router, tags=["broadcast"])
    api.add_router("/analytics", analytics_router, tags=["analytics"])
    api.add_router("/signage", signage_router, tags=["signage"])
    api.add_router("/public", public_router, tags=["public"])  # the citizens' app: no sign-in, published only

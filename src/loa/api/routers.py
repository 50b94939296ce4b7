"""Every domain's router is mounted here."""

from __future__ import annotations

from ninja import NinjaAPI


def mount(api: NinjaAPI) -> None:
    from loa.accounts.api import router as accounts_router
    from loa.audit.api import router as audit_router
    from loa.units.api import router as units_router

    api.add_router("/units", units_router, tags=["units"])
    api.add_router("/accounts", accounts_router, tags=["accounts"])
    api.add_router("/audit", audit_router, tags=["audit"])

"""API router of this domain (mounted under /api/v1/ by loa.api.routers)."""

from ninja import Router

router = Router()

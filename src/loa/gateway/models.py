"""What the gateway tells the rest of the server about itself: liveness and counters."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class GatewayState(models.Model):
    name = models.CharField(max_length=64, unique=True)
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField()
    connected = models.BooleanField(default=False)
    # since when the gateway has not been connected to the broker (null while connected): the console says so
    disconnected_at = models.DateTimeField(null=True, blank=True)
    counters = models.JSONField(default=dict)
    # which process holds the identity ``name`` (one gateway per identity: loa.gateway.identity)
    host = models.CharField(max_length=255, blank=True, default="")
    pid = models.PositiveIntegerField(null=True, blank=True)
    instance = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        verbose_name = _("trạng thái cổng MQTT")
        verbose_name_plural = _("trạng thái cổng MQTT")

    def __str__(self) -> str:
        return self.name

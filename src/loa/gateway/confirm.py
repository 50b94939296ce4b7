"""Publishing a batch and keeping only what the broker confirmed (QoS 1 PUBACK), for the gateway's outboxes."""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable
from typing import Any, TypeVar

import paho.mqtt.client as mqtt

K = TypeVar("K", bound=Hashable)


def publish_confirmed(
    client: Any,
    messages: Iterable[tuple[K, str, bytes]],
    *,
    qos: int = 1,
    retain: bool = False,
    wait_s: float = 5.0,
) -> list[K]:
    """Publish ``(key, topic, payload)`` in order and return the keys the broker confirmed within ``wait_s``.

    Publishing stops at the first message the client cannot take (not connected), so a later message on a topic
    never overtakes an earlier one; what is not returned stays pending in its outbox and is sent again.
    """
    infos = []
    for key, topic, payload in messages:
        info = client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            break
        infos.append((key, info))
    confirmed: list[K] = []
    deadline = time.monotonic() + wait_s
    for key, info in infos:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            info.wait_for_publish(remaining)
        except (RuntimeError, ValueError):
            break
        if info.is_published():
            confirmed.append(key)
    return confirmed

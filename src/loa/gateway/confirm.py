"""Publishing a batch and keeping only what the broker confirmed (QoS 1 PUBACK), for the gateway's outboxes."""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable
from typing import Any, TypeVar

import paho.mqtt.client as mqtt

K = TypeVar("K", bound=Hashable)
POLL_S = 0.05  # how often a wait for PUBACKs checks that the client is still connected


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

    The wait ends as soon as the client has lost its connection (``is_connected()``, checked every
    ``POLL_S``): a PUBACK cannot come any more, and the gateway's loop must go on at once — to tell the console of
    the outage within the second, and to keep ingesting — instead of waiting out ``wait_s`` (it did: the console
    showed a broker outage 5 s late whenever the broker went away with a command in flight).
    """
    infos = []
    for key, topic, payload in messages:
        info = client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            break
        infos.append((key, info))
    confirmed: list[K] = []
    deadline = time.monotonic() + wait_s
    connected = getattr(client, "is_connected", None)
    for key, info in infos:
        while not info.is_published():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (connected is not None and not connected()):
                return confirmed
            try:
                info.wait_for_publish(min(POLL_S, remaining))
            except (RuntimeError, ValueError):
                return confirmed
        confirmed.append(key)
    return confirmed

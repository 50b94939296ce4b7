from django.apps import AppConfig


class BroadcastConfig(AppConfig):
    name = "loa.broadcast"
    label = "broadcast"

    def ready(self) -> None:
        from loa.broadcast.handoffs import on_handoff
        from loa.content.signals import broadcast_handoff

        broadcast_handoff.connect(on_handoff, dispatch_uid="loa.broadcast.handoffs")

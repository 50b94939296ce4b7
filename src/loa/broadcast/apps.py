from django.apps import AppConfig


class BroadcastConfig(AppConfig):
    name = "loa.broadcast"
    label = "broadcast"

    def ready(self) -> None:
        from loa.broadcast.approval import on_bulletin_transition
        from loa.broadcast.handoffs import on_handoff
        from loa.content.signals import broadcast_handoff, bulletin_transition

        broadcast_handoff.connect(on_handoff, dispatch_uid="loa.broadcast.handoffs")
        bulletin_transition.connect(on_bulletin_transition, dispatch_uid="loa.broadcast.approval")

from django.apps import AppConfig


class SignageConfig(AppConfig):
    name = "loa.signage"
    label = "signage"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from loa.broadcast.models import Emergency
        from loa.content.signals import bulletin_transition
        from loa.fleet.signals import board_changed
        from loa.signage.compile import on_board_changed, on_bulletin_transition, on_emergency_saved

        bulletin_transition.connect(on_bulletin_transition, dispatch_uid="loa.signage.compile")
        # an emergency started or cancelled changes the manifests of the boards of its area (``emergency``)
        post_save.connect(on_emergency_saved, sender=Emergency, dispatch_uid="loa.signage.compile.emergency")
        # a board enrolled, its screen edited, a kill switch engaged or released (loa.fleet.signals)
        board_changed.connect(on_board_changed, dispatch_uid="loa.signage.compile.board")
        # a board's screenshot compared with what its manifest says it shows (the mismatch alarm, in a job)
        from loa.fleet.signals import screenshot_received
        from loa.signage.screencheck import on_screenshot_received

        screenshot_received.connect(on_screenshot_received, dispatch_uid="loa.signage.screencheck")

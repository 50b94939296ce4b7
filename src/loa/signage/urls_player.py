"""The reference board player (run in kiosk Chromium on the board's computer), mounted at ``/board/``."""

from django.urls import URLPattern, URLResolver, path

from loa.signage import led_views, player_views

app_name = "board_player"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", player_views.page, name="page"),
    path("api/manifest", player_views.manifest, name="manifest"),
    path("api/identity", player_views.identity, name="identity"),
    path("api/events", player_views.events, name="events"),
    path("api/proof", player_views.proof, name="proof"),
    path(
        "api/led/<str:name>", led_views.led_file, name="led_file"
    ),  # an LED controller's files (signage.led)
    path(
        "<str:name>", player_views.asset, name="asset"
    ),  # player.js, canonical.js, sw.js, player.css, font.ttf
]

"""Console pages of boards' content, layouts and playlists (docs/signage.md)."""

from django.urls import URLPattern, URLResolver, path

from loa.signage import views

app_name = "signage"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="index"),
    path("windows/", views.windows_set, name="windows_set"),
    path("slides/new/", views.slide_new, name="slide_new"),
    path("slides/<int:slide_id>/", views.slide_detail, name="slide"),
    path("playlists/new/", views.playlist_new, name="playlist_new"),
    path("playlists/<int:playlist_id>/", views.playlist_detail, name="playlist"),
    path("playlists/<int:playlist_id>/decide/", views.playlist_decide, name="playlist_decide"),
    path("playlists/<int:playlist_id>/schedule/", views.playlist_schedule, name="playlist_schedule"),
    path("boards/<str:board_id>/preview/", views.board_preview_page, name="board_preview"),
    path("boards/<str:board_id>/plan/", views.board_plan_page, name="board_plan"),
    path("boards/<str:board_id>/led/", views.board_led_page, name="board_led"),
    path("files/<str:name>", views.board_file, name="file"),
    path("font/BeVietnamPro-SemiBold.ttf", views.font, name="font"),
]

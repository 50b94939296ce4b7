"""The public app (PWA) for citizens: no sign-in to read."""

from django.urls import URLPattern, URLResolver, path

from loa.citizen import public_views as views

app_name = "citizen_public"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("gan-toi/", views.near, name="near"),
    path("xa/<str:code>/", views.feed, name="feed"),
    path("ban-tin/<int:bulletin_id>/", views.bulletin, name="bulletin"),
    path("ban-tin/<int:bulletin_id>/am-thanh.mp3", views.bulletin_audio, name="bulletin_audio"),
    path("ban-tin/<int:bulletin_id>/anh/<int:attachment_id>/", views.bulletin_image, name="bulletin_image"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("ngon-ngu/", views.language, name="language"),
]

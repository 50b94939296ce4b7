"""Polls for citizens (public)."""

from django.urls import URLPattern, URLResolver, path

from loa.citizen.polls import views_public as views

app_name = "polls_public"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.poll_list, name="list"),
    path("<int:poll_id>/", views.poll_page, name="poll"),
    path("<int:poll_id>/ma-xac-minh/", views.send_code, name="send_code"),
    path("<int:poll_id>/tra-loi/", views.vote, name="vote"),
]

"""Console pages of polls."""

from django.urls import URLPattern, URLResolver, path

from loa.citizen.polls import views

app_name = "polls"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.poll_list, name="list"),
    path("new/", views.poll_new, name="new"),
    path("<int:poll_id>/", views.poll_detail, name="detail"),
    path("<int:poll_id>/edit/", views.poll_edit, name="edit"),
    path("<int:poll_id>/questions/", views.question_add, name="question_add"),
    path("<int:poll_id>/questions/<int:question_id>/delete/", views.question_delete, name="question_delete"),
    path("<int:poll_id>/publish/", views.poll_publish, name="publish"),
    path("<int:poll_id>/close/", views.poll_close, name="close"),
    path("<int:poll_id>/export.<str:fmt>", views.poll_export, name="export"),
]

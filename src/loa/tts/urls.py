"""Console pages of this domain (included by loa.urls)."""

from django.urls import path

from loa.tts import views

app_name = "tts"
urlpatterns = [
    path("abbreviations/", views.abbreviations, name="abbreviations"),
    path(
        "abbreviations/<int:abbreviation_id>/delete/", views.abbreviation_delete, name="abbreviation_delete"
    ),
]

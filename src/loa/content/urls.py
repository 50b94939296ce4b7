"""Console pages of this domain (included by loa.urls)."""

from django.urls import path  # noqa: F401

app_name = "content"
urlpatterns: list = []

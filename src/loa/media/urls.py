"""Console pages of the media library (included by loa.urls under /media/)."""

from django.urls import path

from loa.media import views

app_name = "media"
urlpatterns = [
    path("", views.library, name="library"),
    path("upload/", views.upload, name="upload"),
    path("jobs/<int:job_id>/", views.job, name="job"),
    path("<int:asset_id>/", views.asset, name="asset"),
    path("files/<str:sha256>.mp3", views.file, name="file"),
]

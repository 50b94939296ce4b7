"""Citizens' feedback form and tracking pages (public, no sign-in): docs/citizen.md "Phản ánh"."""

from django.urls import URLPattern, URLResolver, path

from loa.citizen import feedback_public_views as views

app_name = "feedback_public"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.form, name="form"),
    path("theo-doi/<str:tracking>/", views.track, name="track"),
    path("theo-doi/<str:tracking>/xac-minh/", views.verify, name="verify"),
    path("theo-doi/<str:tracking>/gui-lai-ma/", views.resend, name="resend"),
    path("theo-doi/<str:tracking>/danh-gia/", views.rate, name="rate"),
    path("theo-doi/<str:tracking>/mo-lai/", views.reopen, name="reopen"),
    path("theo-doi/<str:tracking>/du-lieu.json", views.export, name="export"),
    path("theo-doi/<str:tracking>/xoa/", views.erase, name="erase"),
    path("theo-doi/<str:tracking>/anh/<int:number>/", views.photo, name="photo"),
    path("theo-doi/<str:tracking>/thong-bao/", views.follow, name="follow"),
    path("theo-doi/<str:tracking>/tat-thong-bao/", views.unfollow, name="unfollow"),
    path("tra-loi/", views.answers, name="answers"),
    path("tra-loi/<int:feedback_id>/", views.answer, name="answer"),
    path("thong-ke/", views.stats, name="stats"),
]

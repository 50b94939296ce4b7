"""Web Push subscription endpoints for citizens (public; docs/citizen.md, "Cảnh báo")."""

from django.urls import URLPattern, URLResolver, path

from loa.alerts import views_public as views

app_name = "alerts_public"
urlpatterns: list[URLPattern | URLResolver] = [
    path("khoa/", views.public_key, name="public_key"),
    path("dang-ky/", views.subscribe, name="subscribe"),
    path("huy/", views.unsubscribe, name="unsubscribe"),
    path("trang-thai/", views.subscription_state, name="state"),
]

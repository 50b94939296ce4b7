from django.urls import path

from loa.console import views

app_name = "console"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("pick-unit/", views.pick_unit, name="pick_unit"),
    path("areas/<slug:slug>/", views.area, name="area"),
    path("units/", views.units, name="units"),
    path("units/<str:code>/", views.unit_detail, name="unit"),
    path("units/<str:code>/zones/", views.zone_create, name="zone_create"),
    path("units/<str:code>/edit/", views.zone_update, name="zone_update"),
    path("units/<str:code>/deactivate/", views.zone_deactivate, name="zone_deactivate"),
    path("units/<str:code>/settings/", views.unit_settings, name="unit_settings"),
    path("users/", views.users, name="users"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:user_id>/", views.user_detail, name="user"),
    path("users/<int:user_id>/roles/", views.role_assign, name="role_assign"),
    path("roles/<int:assignment_id>/revoke/", views.role_revoke, name="role_revoke"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("audit/", views.audit, name="audit"),
]

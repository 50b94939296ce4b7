"""Console pages of the fleet (included by loa.urls at /fleet/)."""

from django.urls import path

from loa.fleet import views

app_name = "fleet"
urlpatterns = [
    path("", views.device_list, name="list"),
    path("map/", views.device_map, name="map"),
    path("map.json", views.map_data, name="map_data"),
    path("enrol/", views.enrolment, name="enrolment"),
    path("enrol/<int:code_id>/cancel/", views.enrolment_cancel, name="enrolment_cancel"),
    path("commands/", views.command_list, name="commands"),
    path("commands/new/", views.command_new, name="command_new"),
    path("commands/<uuid:command_id>/", views.command_detail, name="command"),
    path("d/<str:device_id>/", views.device_detail, name="device"),
    path("d/<str:device_id>/edit/", views.device_edit, name="device_edit"),
    path("d/<str:device_id>/revoke/", views.device_revoke, name="device_revoke"),
]

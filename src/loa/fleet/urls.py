"""Console pages of the fleet (included by loa.urls at /fleet/)."""

from django.urls import path

from loa.fleet import board_views, views

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
    # boards (bảng tin điện tử): screen, kill switch; photos of every device; screenshots
    path("d/<str:device_id>/screen/", board_views.screen_edit, name="screen_edit"),
    path("d/<str:device_id>/kill/", board_views.board_kill, name="board_kill"),
    path("d/<str:device_id>/photos/", board_views.photo_add, name="photo_add"),
    path("d/<str:device_id>/photos/<str:photo_id>.jpg", board_views.photo, name="photo"),
    path("d/<str:device_id>/photos/<str:photo_id>/remove/", board_views.photo_remove, name="photo_remove"),
    path("screenshots/<int:shot_id>.jpg", board_views.screenshot, name="screenshot"),
    path("kill/", board_views.kill_switches, name="kill_switches"),
    path("kill/<int:switch_id>/release/", board_views.kill_switch_release, name="kill_switch_release"),
]

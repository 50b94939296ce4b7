"""Console pages of broadcasting (included by loa.urls at /broadcast/)."""

from django.urls import path

from loa.broadcast import views

app_name = "broadcast"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("programmes/new/", views.programme_new, name="programme_new"),
    path("schedules/new/", views.schedule_new, name="schedule_new"),
    path("schedules/<int:schedule_id>/cancel/", views.schedule_cancel, name="schedule_cancel"),
    path("emergency/", views.emergency_new, name="emergency_new"),
    path("emergency/<int:emergency_id>/", views.emergency_detail, name="emergency"),
    path("emergency/<int:emergency_id>/cancel/", views.emergency_cancel, name="emergency_cancel"),
    path("proof/", views.proof_page, name="proof"),
]

"""Console pages of broadcasting (included by loa.urls at /broadcast/)."""

from django.urls import path

from loa.broadcast import limits_views, plays_views, schedule_views, views

app_name = "broadcast"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("programmes/", schedule_views.programme_list, name="programmes"),
    path("programmes/new/", schedule_views.programme_new, name="programme_new"),
    path("programmes/<int:programme_id>/decide/", schedule_views.programme_decide, name="programme_decide"),
    path("schedules/new/", schedule_views.schedule_new, name="schedule_new"),
    path("schedules/preview/", schedule_views.schedule_preview, name="schedule_preview"),
    path("schedules/<int:schedule_id>/cancel/", views.schedule_cancel, name="schedule_cancel"),
    path("emergency/", views.emergency_new, name="emergency_new"),
    path("emergency/<int:emergency_id>/", views.emergency_detail, name="emergency"),
    path("emergency/<int:emergency_id>/cancel/", views.emergency_cancel, name="emergency_cancel"),
    path("limits/<str:code>/", limits_views.limits_page, name="limits"),
    path("plan/", plays_views.plan_page, name="plan"),
    path("proof/", plays_views.proof_page, name="proof"),
    path("proof/slot/", plays_views.proof_slot, name="proof_slot"),
]

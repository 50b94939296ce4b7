"""Console pages of citizens' feedback (operators): docs/citizen.md "Phản ánh"."""

from django.urls import URLPattern, URLResolver, path

from loa.citizen import feedback_settings_views as settings_views
from loa.citizen import feedback_views as views

app_name = "feedback"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.queue, name="queue"),
    path("chuyen-nhieu/", views.bulk_assign, name="bulk_assign"),
    path("xuat.csv", views.export_csv, name="export_csv"),
    path("cai-dat/", settings_views.page, name="settings"),
    path("cai-dat/linh-vuc/", settings_views.save_category, name="settings_category"),
    path("cai-dat/quy-tac/", settings_views.routes, name="settings_routes"),
    path("cai-dat/mau-tra-loi/", settings_views.canned, name="settings_canned"),
    path("cai-dat/lich/", settings_views.calendar, name="settings_calendar"),
    path("<int:feedback_id>/", views.detail, name="detail"),
    path("<int:feedback_id>/chuyen/", views.transition, name="transition"),
    path("<int:feedback_id>/ghi-chu/", views.note, name="note"),
    path("<int:feedback_id>/lien-he/", views.contact, name="contact"),
    path("<int:feedback_id>/ban-tin/", views.to_bulletin, name="to_bulletin"),
    path("<int:feedback_id>/anh/<int:number>/", views.photo, name="photo"),
]

from django.urls import path

from loa.analytics import views

app_name = "analytics"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("units/<str:unit_code>/", views.unit_page, name="unit"),
    path("units/<str:unit_code>/drill-down.csv", views.drill_down_csv, name="drill_down_csv"),
    path("units/<str:unit_code>/report.xlsx", views.monthly_report, name="monthly_report"),
    path("units/<str:unit_code>/reports/", views.reports, name="reports"),
    path("reports/<int:report_id>/", views.report_page, name="report"),
    path("reports/<int:report_id>/report.xlsx", views.report_download, {"fmt": "xlsx"}, name="report_xlsx"),
    path("reports/<int:report_id>/report.pdf", views.report_download, {"fmt": "pdf"}, name="report_pdf"),
    path("reports/<int:report_id>/report.docx", views.report_download, {"fmt": "docx"}, name="report_docx"),
    path("units/<str:unit_code>/kpis.csv", views.kpis_csv, name="kpis_csv"),
    path("units/<str:unit_code>/rows/plays/", views.rows, {"what": "plays"}, name="rows_plays"),
    path("units/<str:unit_code>/rows/devices/", views.rows, {"what": "devices"}, name="rows_devices"),
    path("units/<str:unit_code>/rows/offline/", views.rows, {"what": "offline"}, name="rows_offline"),
    path("units/<str:unit_code>/rows/commands/", views.rows, {"what": "commands"}, name="rows_commands"),
    path("units/<str:unit_code>/rows/bulletins/", views.rows, {"what": "bulletins"}, name="rows_bulletins"),
    path("units/<str:unit_code>/rows/expiring/", views.rows, {"what": "expiring"}, name="rows_expiring"),
    path("units/<str:unit_code>/rows/feedback/", views.rows, {"what": "feedback"}, name="rows_feedback"),
    path("units/<str:unit_code>/map/", views.unit_map, name="map"),
    path("units/<str:unit_code>/map.json", views.map_data, name="map_data"),
]

"""Console pages for bulletins (included at /bulletins/ by loa.urls)."""

from django.urls import path

from loa.content import views

app_name = "content"
urlpatterns = [
    path("", views.library, name="library"),
    path("new/", views.create, name="create"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:item_id>/<slug:name>/", views.feed_action, name="feed_action"),
    path("approvals/", views.approvals, name="approvals"),
    path("policies/", views.policies, name="policies"),
    path("policies/<str:code>/", views.policy, name="policy"),
    path("<int:bulletin_id>/", views.detail, name="detail"),
    path("<int:bulletin_id>/edit/", views.edit, name="edit"),
    path("<int:bulletin_id>/transition/", views.transition, name="transition"),
    path("<int:bulletin_id>/comment/", views.comment, name="comment"),
    path("<int:bulletin_id>/audio/", views.make_audio, name="audio"),
    path("<int:bulletin_id>/audio/upload/", views.audio_upload, name="audio_upload"),
    path("<int:bulletin_id>/audio/jobs/<int:job_id>/", views.audio_job, name="audio_job"),
    path("<int:bulletin_id>/audio/set/", views.audio_set, name="audio_set"),
    path("<int:bulletin_id>/attachments/", views.attach, name="attach"),
    path("<int:bulletin_id>/attachments/<int:attachment_id>/", views.attachment_file, name="attachment"),
    path("<int:bulletin_id>/attachments/<int:attachment_id>/remove/", views.detach, name="detach"),
    path("<int:bulletin_id>/share/", views.share, name="share"),
    path("<int:bulletin_id>/replace/", views.replace, name="replace"),
]

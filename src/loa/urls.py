from django.contrib import admin
from django.urls import include, path

from loa.api.main import api

urlpatterns = [
    path("", include("loa.console.urls")),
    path("accounts/", include("loa.accounts.urls")),
    path("media/", include("loa.media.urls")),
    path("tts/", include("loa.tts.urls")),
    path("bulletins/", include("loa.content.urls")),
    path("fleet/", include("loa.fleet.urls")),
    path("broadcast/", include("loa.broadcast.urls")),
    path("analytics/", include("loa.analytics.urls")),
    path("signage/", include("loa.signage.urls")),
    path("board/", include("loa.signage.urls_player")),
    path("feedback/", include("loa.citizen.urls_feedback")),
    path("polls/", include("loa.citizen.polls.urls")),
    # the public app for citizens (no sign-in to read): one prefix, one module per part
    path("congdan/phan-anh/", include("loa.citizen.urls_feedback_public")),
    path("congdan/tham-do/", include("loa.citizen.polls.urls_public")),
    path("congdan/canh-bao/", include("loa.alerts.urls_public")),
    path("congdan/", include("loa.citizen.urls_public")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]

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
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from config import errors
from portal.api import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="portal:home", permanent=False)),
    path("", include("portal.urls")),
    path("", include("catalog.urls")),
    path("licenses/", include("licenses.urls")),
    path("approvals/", include("approvals.urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]

handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.not_found
handler500 = errors.server_error

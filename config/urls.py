from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from catalog.api import api
from config import errors

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="catalog:home", permanent=False)),
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

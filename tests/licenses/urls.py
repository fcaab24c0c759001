"""URLs for the license tests: the project's, plus the license pages and API (until wired)."""

from django.urls import include, path
from ninja import NinjaAPI

from catalog.api import api
from licenses.api import make_router

license_api = NinjaAPI(title="licenses (test)", urls_namespace="licenses-api-test")
license_api.add_router("", make_router())

urlpatterns = [
    path("", include("catalog.urls")),
    path("licenses/", include("licenses.urls")),
    path("api/v1/", api.urls),
    path("api/licenses-test/", license_api.urls),
]

from django.conf import settings
from django.contrib.auth.views import redirect_to_login

OPEN_PREFIXES = ("/approvals/login/", "/static/", "/admin/", "/api/")


class LoginRequiredMiddleware:
    """With CANOPY_LOGIN_REQUIRED on, every page asks for a login (the API has its own auth)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            settings.CANOPY_LOGIN_REQUIRED
            and not request.user.is_authenticated
            and not request.path.startswith(OPEN_PREFIXES)
        ):
            return redirect_to_login(request.get_full_path())
        return self.get_response(request)

import os
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application: Any = get_wsgi_application()

# The pipeline check (GET /api/v1/check with a token) is answered before Django's stack, in one
# SQL statement: see approvals.middleware.CheckFastPath. Every other request goes to Django.
from approvals.middleware import CheckFastPath  # noqa: E402 (needs the apps loaded)

application = CheckFastPath(application)

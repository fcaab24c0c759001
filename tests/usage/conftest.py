import importlib

import pytest
from django.apps import apps

EXAMPLES = importlib.import_module("usage.migrations.0002_example_profiles")


def example_profiles() -> None:
    """The migration's example profiles, made again where a transactional test's flush removed
    them (data migrations are not replayed by a flush)."""
    EXAMPLES.create(apps, None)


@pytest.fixture(autouse=True)
def _examples(request):
    if request.node.get_closest_marker("django_db"):
        request.getfixturevalue("db")
        example_profiles()


def user_with(role_name: str, name: str | None = None):
    from django.contrib.auth.models import User

    from tests.conftest import role

    user = User.objects.create_user(name or role_name, password="x")
    user.groups.add(role(role_name))
    return user

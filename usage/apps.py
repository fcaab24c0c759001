from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "usage"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (re-evaluates what an assessment changed)

from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        from django.core import checks

        from catalog import actions as model_actions

        from . import actions, notify, receivers  # noqa: F401  (receivers connects the login audit)

        model_actions.provide(actions.for_model)  # the model page's approval actions
        checks.register(notify.check_webhook, checks.Tags.security)

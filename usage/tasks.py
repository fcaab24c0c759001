"""Celery entry points for usage verdicts. The logic lives in usage.evaluate."""

from config.celery import django_task
from licenses.tasks import db_task

from . import evaluate
from .models import UsageProfile


@django_task
@db_task
def evaluate_profile(profile_id: int) -> int:
    """The whole catalog for one profile (after the profile changed); 0 if it is gone."""
    profile = UsageProfile.objects.filter(pk=profile_id).first()
    if profile is None:
        return 0
    counts = evaluate.evaluate(profile)
    return counts.inserted + counts.updated


@django_task
@db_task
def evaluate_models(model_ids: list[int]) -> int:
    """Every profile for these models (after their license results changed)."""
    counts = evaluate.evaluate_models(model_ids)
    return counts.inserted + counts.updated


@db_task
def evaluate_all() -> int:
    """Every profile over the whole catalog (nightly, after the licenses' assess_all)."""
    return sum(evaluate_profile(p) for p in UsageProfile.objects.values_list("pk", flat=True))

import os
from typing import TYPE_CHECKING, ParamSpec, TypeVar, cast

from celery import Celery

if TYPE_CHECKING:
    from celery.app.task import Task
    from celery.contrib.django.task import DjangoTask

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("canopy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_P = ParamSpec("_P")
_R = TypeVar("_R")


def django_task(task: "Task[_P, _R]") -> "DjangoTask[_P, _R]":
    """Type a task as the DjangoTask it is at runtime, for `delay_on_commit`.

    Celery's Django fixup makes DjangoTask this app's task class (the app names no task_cls of
    its own), but celery-types' `shared_task` returns a plain Task. Returns the task unchanged:
        @django_task
        @shared_task
        def assess(...): ...
    """
    # Certain at runtime: with DJANGO_SETTINGS_MODULE set, celery.fixups.django sets
    # app.task_cls to celery.contrib.django.task:DjangoTask (Celery 5.4+).
    return cast("DjangoTask[_P, _R]", task)

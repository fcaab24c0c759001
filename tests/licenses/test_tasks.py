"""The assessment tasks outlive a lost database connection: retried, with backoff, on a new one."""

import pytest
from django.db import InterfaceError, OperationalError, connection

from catalog.models import HubModel
from licenses import tasks
from licenses.models import ModelLicense


@pytest.mark.parametrize(
    "task", [tasks.assess_models, tasks.queue_missing_ancestors, tasks.assess_all]
)
def test_the_assessment_tasks_retry_a_lost_database_with_a_bounded_backoff(task):
    assert set(task.autoretry_for) == {OperationalError, InterfaceError}
    assert task.retry_backoff and 0 < task.max_retries <= 10 and task.acks_late


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_assessment_whose_connection_is_killed_is_retried_and_stored(settings):
    import psycopg

    settings.CELERY_TASK_ALWAYS_EAGER = True
    model = HubModel.objects.create(repo_id="org/m")
    db = connection.settings_dict
    pid = connection.connection.info.backend_pid
    dsn = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} dbname={db['NAME']} user={db['USER'] or 'postgres'}"
    # Another session terminates ours, as a database restart would.
    with psycopg.connect(dsn, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    result = tasks.assess_models.apply(args=[[model.pk]])
    assert result.successful(), result.traceback
    assert ModelLicense.objects.filter(model=model).exists()

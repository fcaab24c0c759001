"""The crawled Llama-2 family, shared by the view and API tests."""

import pytest
from django.db import connection, transaction
from django.test import override_settings

from catalog import crawler
from catalog.hub import Hub
from catalog.models import CrawlRun
from tests.conftest import FIXTURES

ROOT = "meta-llama/Llama-2-7b-chat-hf"
MIDDLE = "tsavage68/chat_600STEPS_1e8rate_SFT"  # a finetune of ROOT with 17 finetunes of its own
LEAF = "tsavage68/chat_1000_STEPS_05beta_1e7rate_CDPOSFT"  # a finetune of MIDDLE
MERGE = "antoandgar/SVD_Franken_merge1"  # a merge of ROOT and allenai/tulu-2-dpo-7b (not crawled)


@pytest.fixture(scope="module")
def family(django_db_setup, django_db_blocker, replay_index):
    """Crawl tests/fixtures/family.jsonl.gz once for the module, inside a transaction that is
    rolled back after it (TestCase.setUpTestData's way): each test's own transaction nests in it.
    """
    from hubreplay import ReplayServer

    server = ReplayServer([[str(FIXTURES / "family.jsonl.gz")]], index_dir=replay_index).start()
    with django_db_blocker.unblock(), transaction.atomic():
        try:
            with override_settings(CANOPY_HUB_API_BUDGET=10**6, CANOPY_HUB_RESOLVERS_BUDGET=10**6):
                run, _ = crawler.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
                run = crawler.run_sync(run, hub=Hub(endpoint=server.url, token=""))
        finally:
            server.stop()
        assert run.status == CrawlRun.Status.DONE and run.listed == 150
        # The crawl queued (and run_sync drove) an ancestors run for its missing parents.
        CrawlRun.objects.exclude(pk=run.pk).delete()
        if connection.vendor == "postgresql":
            # Facet counts trust the planner's row estimates: fresh statistics, as autovacuum
            # would give a real catalog, not whatever earlier tests left behind.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE catalog_hubmodel")
                cursor.execute("ANALYZE catalog_searchentry")
        yield run
        transaction.set_rollback(True)

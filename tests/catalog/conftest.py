"""The crawled Llama-2 family, shared by the view and API tests."""

import pytest

from catalog.models import CrawlRun
from tests.conftest import crawled_once

ROOT = "meta-llama/Llama-2-7b-chat-hf"
MIDDLE = "tsavage68/chat_600STEPS_1e8rate_SFT"  # a finetune of ROOT with 17 finetunes of its own
LEAF = "tsavage68/chat_1000_STEPS_05beta_1e7rate_CDPOSFT"  # a finetune of MIDDLE
MERGE = "antoandgar/SVD_Franken_merge1"  # a merge of ROOT and allenai/tulu-2-dpo-7b (not crawled)


@pytest.fixture(scope="module")
def family(django_db_setup, django_db_blocker, replay_index):
    """tests/fixtures/family.jsonl.gz crawled once for the module (tests.conftest.crawled_once):
    its run."""
    with crawled_once(django_db_blocker, replay_index, ["family.jsonl.gz"]) as (
        _, run,
    ):  # fmt: skip
        assert run.status == CrawlRun.Status.DONE and run.listed == 150
        # The crawl queued (and run_sync drove) an ancestors run for its missing parents.
        CrawlRun.objects.exclude(pk=run.pk).delete()
        yield run

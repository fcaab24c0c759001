import pytest

from catalog import crawler, runs
from catalog.models import CrawlRun


@pytest.fixture
def crawl(replay, hub_for):
    """Crawl real snapshot slices through hubreplay: crawl("family.jsonl.gz")."""

    def run(*files, kind=CrawlRun.Kind.FULL, **kw):
        server = replay(list(files))
        r, _ = runs.start(kind, endpoint=server.url, limit=0, **kw)
        return crawler.run_sync(r, hub=hub_for(server))

    return run

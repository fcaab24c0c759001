"""Break session s5: the tier-at-a-time page against one ORDER BY over every match (PostgreSQL)."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.models import HubModel
from portal import search, searchindex
from portal.models import SearchEntry

pytestmark = pytest.mark.django_db

AUTHORS = ["thebloke", "meta-llama", "llama", "a", "TheBloke"]
WORDS = ["llama", "2", "7b", "chat", "gguf", "llamafile", "codellama", "hf", "b"]
DOWNLOADS = [0, 1, 99, 100, 101, 999, 1000, 1001, 5000]
QUERIES = ["llama", "llama 2", "llama 2 7b", "TheBloke llama 2", "thebloke/llama-2", "7b chat",
           '"llama 2" chat', "llama-2-7b", "meta-llama/llama-2-7b", "2 7b", "llama b",
           "chat llama", "b", "thebloke llama", "llama llama"]  # fmt: skip


@st.composite
def catalogs(draw):
    n = draw(st.integers(1, 40))
    rows = {}
    for _ in range(n):
        author = draw(st.sampled_from(AUTHORS))
        name = "-".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4)))
        rows[f"{author}/{name}".lower() if draw(st.booleans()) else f"{author}/{name}"] = draw(
            st.sampled_from(DOWNLOADS)
        )
    return rows


@pytest.mark.skipif(
    not __import__("os").environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="PostgreSQL only",
)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=catalogs(), q=st.sampled_from(QUERIES) | st.just(None), author=st.sampled_from(["", "thebloke", "a"]), start=st.integers(0, 6),
       size=st.integers(1, 6), popular=st.sampled_from([100, 1000, 1001, 0]),
       window=st.sampled_from([1, 3, 2000]), broad=st.booleans(), named=st.sampled_from([0, 1, 1000]))  # fmt: skip
def test_break_tier_page_is_the_order_by_page(
    monkeypatch_s, rows, q, author, start, size, popular, window, broad, named
):
    monkeypatch_s.setattr(search, "POPULAR", popular)
    monkeypatch_s.setattr(search, "TIER_WINDOW", window)
    monkeypatch_s.setattr(search, "NAMED", named)
    with transaction.atomic():
        seen = set()
        for repo, dl in rows.items():
            if repo.lower() in seen:
                continue
            seen.add(repo.lower())
            HubModel.objects.create(repo_id=repo, author=repo.split("/")[0], downloads=dl)
        searchindex.sync(HubModel.objects.values_list("pk", flat=True))
        if q is None:  # an id of the catalog, in another case, with or without more words
            q = next(iter(rows)).upper() + (" llama" if len(rows) % 2 else "")
        data = {"q": q, **({"author": author} if author else {})}
        entries = search.ordered(search.apply(SearchEntry.objects.all(), data), data)
        stop = start + size
        expected = list(entries.values_list("model_id", flat=True)[start:stop])
        page = search.page_of(entries, start, stop, q, broad=broad)
        got = [e.model_id for e in page]
        if got != expected:
            names = dict(HubModel.objects.values_list("pk", "repo_id"))
            raise AssertionError(
                f"{q!r} [{start}:{stop}] popular={popular} window={window} broad={broad}\n"
                f"got      {[(names[i]) for i in got]}\nexpected {[names[i] for i in expected]}\n"
                f"all {sorted(rows.items(), key=lambda kv: -kv[1])}"
            )
        transaction.set_rollback(True)


@pytest.fixture
def monkeypatch_s():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()

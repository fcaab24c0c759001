"""HTML views: full pages without HX-Request, their #fragments with it.

The family fixture (150 real Hub records of the Llama-2-7b-chat tree) is crawled once per module
through hubreplay inside a module-wide transaction; each test runs in a savepoint rolled back on
top of it.
"""

import re

import pytest
from django.db.models import Count, Q
from django_htmx.http import HttpResponseStopPolling

from catalog import runs
from catalog.models import CrawlRun, HubModel, LineageEdge, RepoAlias
from catalog.tasks import crawl
from usage.models import UsageProfile

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
from tests.catalog.conftest import LEAF, MERGE, MIDDLE, ROOT  # noqa: E402


def repo_ids(response) -> list[str]:
    """The model links in the results table, in order."""
    results = response.content.decode().split('id="results"', 1)[1]
    return re.findall(r'<td><a href="/models/([^"]+)/">', results)


# --- Model list --------------------------------------------------------------------------


def test_the_model_list_is_a_full_page(client, family):
    response = client.get("/models/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and 'id="results"' in html and '<form class="search"' in html
    assert "150 of 150 models" in html
    assert "HX-Request" in response["Vary"]
    # Most downloaded first by default.
    assert repo_ids(response)[:2] == [ROOT, "TheBloke/Llama-2-7B-Chat-GGUF"]


def test_htmx_gets_only_the_results_fragment(client, family):
    response = client.get("/models/", {"q": "llama"}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="results"')
    assert "<html" not in html and '<form class="search"' not in html
    assert "HX-Request" in response["Vary"]


def test_an_invalid_search_from_the_form_shows_its_error_in_the_results(client, family):
    # htmx 2 swaps no 4xx answer: the fragment says what is wrong, as a 200 the form swaps in.
    response = client.get("/models/", {"q": "x" * 201, "memory": "0"}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="results"')
    assert "<html" not in html
    assert "This search cannot be run" in html and 'role="alert"' in html
    assert "<code>q</code>" in html and "<code>memory</code>" in html
    assert "at most 200 characters" in html


def test_an_invalid_search_without_htmx_is_a_400_page(client, family):
    response = client.get("/models/", {"memory": "0"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "<html" in html and "This search cannot be run" in html and "<code>memory</code>" in html


def test_a_history_restore_of_an_invalid_search_is_a_full_page(client, family):
    headers = {**HTMX, "HX-History-Restore-Request": "true"}
    response = client.get("/models/", {"memory": "0"}, headers=headers)
    assert response.status_code == 400 and "<html" in response.content.decode()


def test_search_narrows_the_results(client, family):
    expected = HubModel.objects.filter(repo_id__icontains="gguf").count()
    response = client.get("/models/", {"q": "GGUF"}, headers=HTMX)
    ids = repo_ids(response)
    assert f"{expected} of 150 models" in response.content.decode()
    assert 0 < len(ids) == expected < 150
    assert all("gguf" in i.lower() for i in ids)


def test_a_search_that_matches_nothing_says_so(client, family):
    response = client.get("/models/", {"q": "no-such-model-anywhere"})
    html = response.content.decode()
    assert repo_ids(response) == []
    assert "No model matches." in html and "catalog is empty" not in html


def test_the_author_filter_keeps_one_authors_models(client, family):
    response = client.get("/models/", {"author": "TheBloke"})
    ids = repo_ids(response)
    assert ids and all(i.startswith("TheBloke/") for i in ids)
    # The filter survives the next search: the form carries it as a hidden field.
    assert (
        '<input type="hidden" form="search" name="author" value="TheBloke">'
        in response.content.decode()
    )


@pytest.mark.parametrize(
    ("sort", "order"),
    [("name", ["repo_id"]), ("likes", ["-likes", "id"]), ("downloads", ["-downloads", "id"])],
)
def test_results_are_sorted_as_asked(client, family, sort, order):
    response = client.get("/models/", {"sort": sort}, headers=HTMX)
    expected = list(HubModel.objects.order_by(*order).values_list("repo_id", flat=True)[:50])
    assert repo_ids(response) == expected


def test_the_chosen_sort_stays_selected(client, family):
    html = client.get("/models/", {"sort": "likes"}).content.decode()
    assert '<option value="likes" selected>' in html


def test_pagination_links_keep_the_query(client, family):
    response = client.get("/models/", {"q": "llama", "sort": "name"})
    html = response.content.decode()
    # "llama" in the id or in the card's summary (the crawl read the cards).
    llama = Q(repo_id__icontains="llama") | Q(summary__icontains="llama")
    total = HubModel.objects.filter(llama).count()
    assert total > 50 and "Page 1 of 3" in html
    next_href = re.search(r'<a rel="next" href="([^"]+)"', html)[1].replace("&amp;", "&")
    assert next_href == "?q=llama&sort=name&page=2"

    page2 = client.get(f"/models/{next_href}")
    expected = HubModel.objects.filter(llama).order_by("repo_id").values_list("repo_id", flat=True)
    assert repo_ids(page2) == list(expected[50:100])
    prev_href = re.search(r'<a rel="prev" href="([^"]+)"', page2.content.decode())[1]
    assert prev_href.replace("&amp;", "&") == "?q=llama&sort=name&page=1"


def test_an_empty_catalog_points_to_the_crawls_page(client, family):
    HubModel.objects.all().delete()
    response = client.get("/models/")
    html = response.content.decode()
    assert "0 of 0 models" in html
    assert "the catalog is empty until a crawl runs" in html
    assert 'href="/crawls/"' in html


def test_a_running_crawl_is_announced_on_the_model_list(client, family):
    run = CrawlRun.objects.create(kind=CrawlRun.Kind.FULL, endpoint="http://hub", listed=1234,
                                  status=CrawlRun.Status.RUNNING)  # fmt: skip
    html = client.get("/models/").content.decode()
    assert "A full crawl is running" in html and f'href="/crawls/{run.pk}/"' in html


def test_the_model_list_makes_a_fixed_number_of_queries(
    client, family, django_assert_max_num_queries
):
    # 50 rows per page: an N+1 would show as 50 more. The first request also computes the
    # unfiltered facet counts that later ones read from the cache. One more: the profile
    # filter's choices, one query however many profiles there are.
    UsageProfile.objects.create(slug="a-third", name="A third profile")
    with django_assert_max_num_queries(10):
        client.get("/models/")
    with django_assert_max_num_queries(7):
        client.get("/models/", {"q": "llama", "sort": "likes", "page": "2"}, headers=HTMX)


# --- Model detail ------------------------------------------------------------------------


def test_a_model_page_shows_its_metadata(client, family):
    root = HubModel.objects.get(repo_id=ROOT)
    response = client.get(f"/models/{ROOT}/")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    assert "<h1>Llama-2-7b-chat-hf</h1>" in html
    assert f'href="https://huggingface.co/{ROOT}"' in html
    assert "gated (manual approval)" in html
    assert f"<code>{root.sha}</code>" in html
    assert "text-generation" in html and "1,186,755" in html
    assert "<code>license:llama2</code>" in html
    assert '<p class="crumbs"><a href="/models/?author=meta-llama">meta-llama</a>' in html


def test_a_model_page_links_to_its_parent(client, family):
    html = client.get(f"/models/{LEAF}/").content.decode()
    parents = html.split("<h3>Parents</h3>", 1)[1].split("<h3>Children</h3>", 1)[0]
    assert re.search(rf'finetune</span> of\s*<a href="/models/{MIDDLE}/">{MIDDLE}</a>', parents)
    assert "No known derivative." in html


def test_a_model_page_lists_its_children_per_relation(client, family):
    html = client.get(f"/models/{MIDDLE}/").content.decode()
    children = html.split("<h3>Children</h3>", 1)[1]
    assert '<a class="rel rel-finetune" href="#children-finetune">17 finetune</a>' in children
    assert f'<a href="/models/{LEAF}/">{LEAF}</a>' in children
    finetunes = children.split('id="children-finetune"', 1)[1].split("</ul>", 1)[0]
    assert len(re.findall(r"<li>", finetunes)) == 17
    # ...and its own parent, the root.
    assert f'<a href="/models/{ROOT}/">{ROOT}</a>' in html.split("<h3>Children</h3>", 1)[0]


def test_the_root_counts_every_relation_among_its_children(client, family):
    html = client.get(f"/models/{ROOT}/").content.decode()
    edges = LineageEdge.objects.filter(parent_repo_id=ROOT)
    counts = dict(edges.values_list("relation").annotate(n=Count("id")).order_by())
    assert set(counts) == {"adapter", "finetune", "merge", "quantized"}
    children = html.split("<h3>Children</h3>", 1)[1]
    for relation, n in counts.items():
        assert f'href="#children-{relation}">{n} {relation}</a>' in html
        group = children.split(f'id="children-{relation}"', 1)[1].split("</ul>", 1)[0]
        # Each relation shows its most downloaded children, at most 25, and says so.
        assert len(re.findall(r"<li>", group)) == min(n, 25)
    assert "The 25 most downloaded of" in children
    assert '<a href="/models/FinGPT/fingpt-forecaster_dow30_llama2-7b_lora/">' in children
    quantized = children.split('id="children-quantized"', 1)[1].split("</ul>", 1)[0]
    assert quantized.index("TheBloke/Llama-2-7B-Chat-GGUF") < quantized.index("second-state/")


def test_a_parent_that_is_not_crawled_is_named_without_a_link(client, family):
    html = client.get(f"/models/{MERGE}/").content.decode()
    parents = html.split("<h3>Parents</h3>", 1)[1].split("<h3>Children</h3>", 1)[0]
    assert "<code>allenai/tulu-2-dpo-7b</code> <small>(not crawled yet)</small>" in parents
    assert 'href="/models/allenai/tulu-2-dpo-7b/"' not in html
    assert f'merge</span> of\n      <a href="/models/{ROOT}/">' in parents


def test_an_unknown_model_is_404(client, family):
    assert client.get("/models/nobody/nothing/").status_code == 404


def test_a_renamed_models_old_id_redirects_to_its_page(client, family):
    model = HubModel.objects.get(repo_id=MIDDLE)
    RepoAlias.objects.create(alias="tsavage68/old-name", model=model)
    response = client.get("/models/tsavage68/old-name/")
    assert response.status_code == 302 and response["Location"] == f"/models/{MIDDLE}/"
    assert (
        "formerly <code>tsavage68/old-name</code>"
        in client.get(response["Location"]).content.decode()
    )


def test_children_that_name_the_old_id_still_count(client, family):
    model = HubModel.objects.get(repo_id=MIDDLE)
    RepoAlias.objects.create(alias="tsavage68/old-name", model=model)
    LineageEdge.objects.filter(child__repo_id=LEAF).update(parent_repo_id="tsavage68/old-name")
    html = client.get(f"/models/{MIDDLE}/").content.decode()
    assert 'href="#children-finetune">17 finetune</a>' in html
    # And the child links to the renamed parent, not to a "not crawled" id.
    leaf = client.get(f"/models/{LEAF}/").content.decode()
    assert f'<a href="/models/{MIDDLE}/">{MIDDLE}</a>' in leaf and "not crawled" not in leaf


def test_the_model_page_makes_a_fixed_number_of_queries(
    client, family, django_assert_max_num_queries
):
    # The root has 128 children in 4 relations: one query per relation (at most 5), not per child.
    # Two more than before: the card (README.md) and the crawl history; and one for where the
    # catalog came from (catalog.hublink.source: a replay says so beside the Hub link).
    # Four for the verdict per usage profile, however many profiles: the profiles, the
    # model's license inputs, its waiver and the approvals given for a profile.
    UsageProfile.objects.create(slug="a-third", name="A third profile")
    with django_assert_max_num_queries(22):
        client.get(f"/models/{ROOT}/")
    # With its license results (the crawl assessed it): the panel reads them and the restrictor.
    with django_assert_max_num_queries(21):
        client.get(f"/models/{MERGE}/")


# --- Crawls ------------------------------------------------------------------------------


def running_run(**kw) -> CrawlRun:
    return CrawlRun.objects.create(kind=CrawlRun.Kind.AUTHOR, target="TheBloke", endpoint="http://hub",
                                   status=CrawlRun.Status.RUNNING, listed=7, **kw)  # fmt: skip


def test_the_crawl_list_is_a_full_page(client, family):
    response = client.get("/crawls/")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html and "<h1>Crawls</h1>" in html
    assert f'<a href="/crawls/{family.pk}/">{family.pk}</a>' in html
    assert 'id="runs"' in html and "hx-trigger" not in html  # nothing to poll for


def test_the_crawl_list_fragment_stops_polling_when_no_run_is_active(client, family):
    response = client.get("/crawls/", headers=HTMX)
    html = response.content.decode()
    assert response.status_code == HttpResponseStopPolling.status_code == 286
    assert html.lstrip().startswith('<section id="runs"') and "<html" not in html
    assert f'<a href="/crawls/{family.pk}/">' in html


def test_the_crawl_list_fragment_keeps_polling_while_a_run_is_active(client, family):
    run = running_run()
    response = client.get("/crawls/", headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="runs" hx-get="/crawls/" hx-trigger="every 2s"')
    assert f'<a href="/crawls/{run.pk}/">' in html and "<html" not in html


def test_the_crawl_detail_is_a_full_page(client, family):
    response = client.get(f"/crawls/{family.pk}/")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    assert f"<h1>Full crawl #{family.pk}</h1>" in html
    assert '<span class="status status-done">done</span>' in html
    assert "<dt>Listed</dt><dd>150</dd>" in html and "<dt>New</dt><dd>150</dd>" in html
    assert "hx-trigger" not in html


def test_the_crawl_detail_fragment_stops_polling_once_the_run_is_done(client, family):
    response = client.get(f"/crawls/{family.pk}/", headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 286
    assert html.lstrip().startswith('<section id="progress"') and "<html" not in html
    assert "hx-trigger" not in html


def test_the_crawl_detail_fragment_keeps_polling_while_the_run_is_active(client, family):
    run = running_run()
    response = client.get(f"/crawls/{run.pk}/", headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith(
        f'<section id="progress" hx-get="/crawls/{run.pk}/" hx-trigger="every 2s"'
    )
    assert '<span class="status status-running">running</span>' in html

    CrawlRun.objects.filter(pk=run.pk).update(status=CrawlRun.Status.FAILED)
    assert client.get(f"/crawls/{run.pk}/", headers=HTMX).status_code == 286


def test_a_failed_runs_errors_are_shown(client, family):
    run = running_run()
    run.add_error("Hub unavailable: boom")
    run.status = CrawlRun.Status.FAILED
    run.save()
    html = client.get(f"/crawls/{run.pk}/").content.decode()
    assert "<h2>Last errors</h2>" in html and "Hub unavailable: boom" in html


def test_an_unknown_crawl_is_404(client, family):
    assert client.get("/crawls/999999/").status_code == 404


# --- Starting a crawl --------------------------------------------------------------------


def test_only_staff_see_the_start_form(client, admin_client, family):
    assert "<h2>Start a crawl</h2>" not in client.get("/crawls/").content.decode()
    assert "<h2>Start a crawl</h2>" in admin_client.get("/crawls/").content.decode()


def test_anonymous_users_cannot_start_a_crawl(client, family, django_capture_on_commit_callbacks):
    before = CrawlRun.objects.count()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/crawls/", {"kind": "author", "target": "TheBloke"})
    assert response.status_code == 403
    assert CrawlRun.objects.count() == before and callbacks == []


def test_signed_in_non_staff_users_cannot_start_a_crawl(client, django_user_model, family):
    client.force_login(django_user_model.objects.create_user("viewer", password="x"))
    response = client.post("/crawls/", {"kind": "author", "target": "TheBloke"})
    assert response.status_code == 403
    assert not CrawlRun.objects.filter(target="TheBloke").exists()


def test_staff_start_a_crawl_and_its_task_is_enqueued_on_commit(
    admin_client, family, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post("/crawls/", {"kind": "author", "target": "TheBloke"})
    run = CrawlRun.objects.get(kind="author", target="TheBloke")
    assert response.status_code == 302 and response["Location"] == f"/crawls/{run.pk}/"
    assert run.status == CrawlRun.Status.QUEUED
    assert len(callbacks) == 1
    # delay_on_commit registers partial(crawl.delay, run.pk): not run, only captured.
    assert callbacks[0].func.__self__.name == crawl.name and callbacks[0].args == (run.pk,)


def test_starting_a_crawl_that_is_already_active_enqueues_nothing(
    admin_client, family, django_capture_on_commit_callbacks
):
    run, _ = runs.start(CrawlRun.Kind.AUTHOR, target="TheBloke")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post("/crawls/", {"kind": "author", "target": "TheBloke"})
    assert response["Location"] == f"/crawls/{run.pk}/"
    assert callbacks == [] and CrawlRun.objects.filter(target="TheBloke").count() == 1


def test_a_crawl_that_needs_a_target_is_refused_without_one(
    admin_client, family, django_capture_on_commit_callbacks
):
    before = CrawlRun.objects.count()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post("/crawls/", {"kind": "descendants", "target": ""})
    assert response.status_code == 200
    assert "This kind of crawl needs a target." in response.content.decode()
    assert CrawlRun.objects.count() == before and callbacks == []


def test_the_crawl_list_refuses_other_methods(client, family):
    assert client.put("/crawls/").status_code == 405

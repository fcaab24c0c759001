"""Breaking the read side of training data: pages, API, facets, policies, ML-BOM, NOTICE.

Every record here is CONSTRUCTED (ids under `constructed/`), written through catalog.ingest
and assessed by licenses.assessment, as a crawl would."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError

from approvals.models import Policy
from catalog import datasets, ingest
from catalog.models import HubDataset, HubModel
from licenses import assessment
from licenses.models import Assessment, ModelLicense

MODEL = "constructed/apache-on-odd-data"
NEWLINE = "constructed/line\nbreak"
SCRIPT = "constructed/<script>alert(1)</script>"
DOTS = "constructed/../escape"
FREE = "my own data"


def _rec(repo_id, *, datasets_=(), license="apache-2.0", bases=()):
    card = {"license": license, "datasets": list(datasets_)}
    if bases:
        card["base_model"] = list(bases)
    return {"id": repo_id, "_id": "h" + str(abs(hash(repo_id))), "author": "constructed",
            "tags": [f"license:{license}"], "cardData": card, "sha": "s" * 40,
            "downloads": 5}  # fmt: skip


def _assessed(repo_id, ids):
    """A model declaring `ids`, stored and assessed as a crawl would (the DATASETS phase gives
    an id the Hub cannot have a row, as not found)."""
    counts = ingest.ingest([_rec(repo_id, datasets_=ids)], detail=True)
    assert not counts.rejected
    for rid, tag in (("constructed/nc-data", "cc-by-nc-4.0"), ("constructed/other-data", "other")):
        HubDataset.objects.get_or_create(repo_id=rid, defaults={"tags": [f"license:{tag}"]})
    unaskable = [d for d in datasets.wanted(limit=100) if not datasets.fetchable(d)]
    datasets.not_found(unaskable)
    model = HubModel.objects.get(repo_id=repo_id)
    assessment.assess([model.pk])
    state = ModelLicense.objects.get(model=model)
    # An entry holding a line break is prose, not a name: declared() leaves it out.
    kept = {i for i in ids if "\n" not in i}
    assert state.data_conflict and {d["id"] for d in state.assessment.datasets} >= kept
    return model


@pytest.fixture
def odd(db):
    ids = ["constructed/nc-data", "constructed/other-data", NEWLINE, SCRIPT, DOTS, FREE]
    return _assessed(MODEL, ids)


@pytest.fixture
def tame(db):
    """No newline among its ids (that one 500s the page: see its own test)."""
    return _assessed(MODEL, ["constructed/nc-data", SCRIPT, DOTS, FREE])


def _get(client, url, **params):
    client.raise_request_exception = False
    return client.get(url, params)


def test_break_model_page_with_a_dataset_id_holding_a_newline(client, odd):
    # A card's `datasets:` entry with a line break: {% url 'portal:dataset_detail' d.id %}
    r = _get(client, f"/models/{MODEL}/")
    assert r.status_code == 200


def test_break_datasets_api_with_a_dataset_id_holding_a_newline(client, odd):
    r = _get(client, "/api/v1/datasets")
    assert r.status_code == 200


def test_break_a_listed_dataset_can_be_read_by_its_id(client, tame):
    items = _get(client, "/api/v1/datasets", search="my own").json()["items"]
    assert [i["id"] for i in items] == [FREE]
    r = _get(client, f"/api/v1/datasets/{FREE}")
    assert r.status_code == 200, r.content[:300]


def test_break_dataset_link_with_dot_segments_points_at_another_dataset(client, tame):
    r = _get(client, f"/models/{MODEL}/")
    html = r.content.decode()
    assert r.status_code == 200 and "constructed/nc-data/" in html
    # A browser resolves /datasets/constructed/../escape/ to /datasets/escape/: another page.
    assert 'href="/datasets/constructed/../escape/"' not in html


def test_break_no_script_injection_from_dataset_ids(client, tame):
    for url in (f"/models/{MODEL}/", f"/licenses/models/{MODEL}/", f"/datasets/{SCRIPT}/",
                "/datasets/constructed/<script>nobody</script>/"):  # fmt: skip
        r = _get(client, url)
        assert r.status_code in (200, 404), (url, r.status_code)
        assert "<script>alert" not in r.content.decode() and "<script>nobody" not in (
            r.content.decode()
        )


@pytest.mark.parametrize(
    "params",
    [{"data": "maybe"}, {"data": "a\x00"}, {"data_conflict": "perhaps"}, {"data_conflict": "\x00"},
     {"dataset": "\x00"}, {"dataset": "x" * 5000}, {"dataset": NEWLINE}, {"data": ["allowed", "x"]},
     {"page": "99999999999999"}],
)  # fmt: skip
def test_break_facets_answer_bad_values_without_a_500(client, odd, params):
    for url in ("/models/", "/api/v1/models"):
        r = _get(client, url, **params)
        assert r.status_code < 500, (url, params, r.status_code)


@pytest.mark.parametrize(
    "params",
    [{"page": "0"}, {"page": "x"}, {"page": str(10**12)}, {"page": "-1"}, {"search": "\x00"},
     {"search": "x" * 5000}, {"page": "100000"}],
)  # fmt: skip
def test_break_datasets_api_bad_query_params(client, odd, params):
    r = _get(client, "/api/v1/datasets", **params)
    assert r.status_code < 500, (params, r.status_code, r.content[:200])


def test_break_dataset_page_bad_page_numbers(client, odd):
    for page in ("99999999999", "\x00", "-5", "1e9"):
        assert _get(client, "/datasets/constructed/nc-data/", page=page).status_code in (200, 400)
    assert _get(client, "/api/v1/datasets/constructed%00x").status_code in (400, 404, 422)
    assert _get(client, "/api/v1/datasets/" + "a" * 300).status_code in (404, 422)


@pytest.mark.parametrize("field, value", [
    ("datasets", {"not": "a list"}),
    ("datasets", [{"id": "constructed/x", "license": 5}, "row", None]),
    ("data_conflict_reasons", [{"x": 1}, None]),
    ("data_conditions", ["non_commercial", 7]),
])  # fmt: skip
def test_break_model_api_with_malformed_stored_data_fields(client, tame, field, value):
    # Rows written by other code or by hand (as rows_of says of `datasets`): read, never trusted.
    Assessment.objects.filter(pk=ModelLicense.objects.get(model=tame).assessment_id).update(
        **{field: value}
    )
    assert _get(client, f"/models/{MODEL}/").status_code == 200
    r = _get(client, f"/api/v1/models/{MODEL}")
    assert r.status_code == 200, r.content[:300]


def test_break_dataset_page_with_malformed_stored_record(client, tame):
    HubDataset.objects.filter(repo_id="constructed/nc-data").update(
        tags={"license": "mit"}, card_data=["license", "mit"]
    )
    assert _get(client, "/datasets/constructed/nc-data/").status_code == 200
    assert _get(client, "/api/v1/datasets/constructed/nc-data").status_code == 200
    assert _get(client, "/api/v1/datasets").status_code == 200


def test_break_bom_is_valid_with_odd_dataset_ids(db):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    from approvals.exports import ml_bom

    model = _assessed(MODEL, ["constructed/nc-data", NEWLINE, SCRIPT, DOTS, FREE, "x" * 200])
    bom = ml_bom([model])
    names = {c["name"] for c in bom["components"] if c["type"] == "data"}
    assert {SCRIPT, DOTS, FREE} <= names and NEWLINE not in names  # prose, left out
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bom))
    assert error is None, str(error)[:500]


def test_break_bom_is_valid_with_a_dataset_under_license_other(db):
    # Only one odd thing: a dataset whose card says `license: other` (common on the Hub).
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    from approvals.exports import ml_bom

    ingest.ingest([_rec("constructed/m2", datasets_=["constructed/other-only"])], detail=True)
    HubDataset.objects.create(repo_id="constructed/other-only", tags=["license:other"])
    m = HubModel.objects.get(repo_id="constructed/m2")
    assessment.assess([m.pk])
    bom = ml_bom([m])
    [data] = [c for c in bom["components"] if c["type"] == "data"]
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bom))
    assert error is None, (data.get("licenses"), str(error)[:300])


def test_break_notice_lists_odd_datasets(tame):
    from approvals.exports import notice

    text = notice(tame)
    assert "constructed/nc-data" in text and "Training data" in text


def test_break_policy_with_a_bad_data_conflict_value_is_refused(db):
    # "YES" is not a Tri value: matches() reads it as "no" (rule == YES is False), inverting the
    # rule; POLICY_NAMES checks only the list fields.
    with pytest.raises(ValidationError):
        Policy.objects.create(name="constructed typo", action="approve", data_conflict="YES")


def test_break_policy_bulk_update_with_a_bad_data_conflict_value_is_refused(db):
    Policy.objects.create(name="constructed", action="review")
    with pytest.raises(ValidationError):
        Policy.objects.update(data_conflict="maybe")


def test_break_policy_bulk_update_with_bad_data_lists_is_refused(db):
    Policy.objects.create(name="constructed", action="review")
    with pytest.raises(ValidationError):
        Policy.objects.update(data_verdicts="allowed")  # a string, not a list
    with pytest.raises(ValidationError):
        Policy.objects.update(data_statuses=["complete", "partial"])


def test_break_dataset_page_for_an_id_typed_in_another_case(client, tame):
    # Hub ids are case-insensitive; a model id typed in another case is redirected to its page
    # (portal.views._get_model_or_redirect). The dataset page answers 404 instead.
    assert _get(client, f"/models/{MODEL.upper()}/").status_code in (200, 301, 302)
    r = _get(client, "/datasets/CONSTRUCTED/NC-DATA/")
    assert r.status_code in (200, 301, 302), r.status_code


def test_break_dataset_page_for_a_url_declared_as_a_dataset(client, db):
    url = "https://example.org/data.csv"
    model = _assessed("constructed/url-data", ["constructed/nc-data", url])
    html = _get(client, f"/models/{model.repo_id}/").content.decode()
    import re

    # Not a Hub id: shown in words, never a link (a path would not round-trip it), and its
    # page is still there by its quoted id.
    assert not re.findall(r'href="(/datasets/[^"]*example[^"]*)"', html)
    assert "https://example.org/data.csv <small>(named in words, not a Hub id)" in html
    r = _get(client, "/datasets/https%3A//example.org/data.csv/")
    assert r.status_code == 200 and "example.org/data.csv" in r.content.decode()

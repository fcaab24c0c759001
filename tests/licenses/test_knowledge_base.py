import csv
from pathlib import Path

import pytest

from licenses.build_kb import EXTRA_CODES
from licenses.classify import classify, kb
from licenses.models import License

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"
VERDICT = {
    "allowed": "allowed",
    "conditional": "conditional",
    "prohibited": "prohibited",
    "unclear": "unknown",
}


def tsv(name):
    return list(csv.DictReader((FIXTURES / name).open(encoding="utf-8"), delimiter="\t"))


def test_every_canonical_license_and_hub_id_is_loaded_by_the_migration():
    keys = set(License.objects.values_list("key", flat=True))
    canonical = set(License.objects.values_list("canonical_key", flat=True))
    assert {r["canonical_key"] for r in tsv("licenses.tsv")} <= canonical
    assert {r["identifier"] for r in tsv("hub-license-ids.tsv")} <= keys
    assert License.objects.count() == len(kb().entries)


def test_verdicts_and_conditions_follow_the_reviewed_table():
    for row in tsv("licenses.tsv"):
        rows = {lic.key: lic for lic in License.objects.filter(canonical_key=row["canonical_key"])}
        lic = rows.get(row["canonical_key"]) or sorted(rows.items())[0][1]
        codes = [c for c in row["conditions"].split(";") if c]
        # The table's codes in its order, then those the held license text adds (EXTRA_CODES:
        # each with its clause in build_obligations), never fewer.
        extra = [c for c in EXTRA_CODES.get(row["canonical_key"], []) if c not in codes]
        assert lic.codes == [c for c in codes if c != "unverified"] + extra, lic.key
        assert lic.verified == (
            "unverified" not in codes and "(unverified" not in row["commercial_use"]
        )
        want = VERDICT[row["commercial_use"].split(" ")[0]]
        if want == "unknown" and {"research_only", "non_commercial"} & set(codes):
            want = "prohibited"  # research-only or non-commercial terms, though unverified
        assert lic.verdict == want, lic.key


def test_conditions_carry_their_values():
    verdict, conditions = classify("llama2")
    values = {c["code"]: c["value"] for c in conditions}
    assert verdict == "conditional"
    assert values["mau_700m"] == "700,000,000 monthly active users"
    assert values["aup"].startswith("https://")
    assert {c["code"]: c["value"] for c in classify("llama3")[1]}["attribution"] == (
        "Built with Meta Llama 3"
    )
    assert classify("cc-by-nc-4.0")[0] == "prohibited"
    assert classify("apache-2.0")[0] == "allowed"
    assert classify("other") == ("unknown", classify("other")[1])
    assert classify(None) == ("unknown", [])
    assert classify("openrail")[0] == "conditional"


def test_unverified_rows_stay_visibly_unverified(client, settings):
    assert not License.objects.get(key="tongyi-qianwen-research").verified
    page = client.get("/licenses/tongyi-qianwen-research/")
    assert "unverified" in page.text


def test_load_licenses_is_idempotent():
    from licenses.loading import load_licenses

    before = list(License.objects.values_list("pk", "key", "verdict"))
    assert load_licenses() == (len(before), 0)
    assert list(License.objects.values_list("pk", "key", "verdict")) == before

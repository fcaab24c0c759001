# ruff: noqa: F811  (the module-scoped `family` fixture is imported from test_views)
"""The dashboard: catalog figures and charts, in a bounded number of queries."""

import pytest

from tests.catalog.conftest import ROOT
from usage.models import UsageProfile

pytestmark = pytest.mark.django_db


def test_the_dashboard_shows_the_catalog_at_a_glance(client, family):
    html = client.get("/dashboard/").content.decode()
    assert "<strong>150</strong> models" in html
    assert "Largest families" in html and f"?base={ROOT}" in html
    assert '<svg viewBox="0 0 400' in html


def test_the_dashboard_makes_a_bounded_number_of_queries(
    client, family, django_assert_max_num_queries
):
    # 14: the training-data figure reads the dataset records and the links once (cached with
    # the other aggregates), whatever the catalog's size; the profiles panel reads the
    # profiles and their verdict counts in one query each, however many profiles there are.
    UsageProfile.objects.create(slug="a-third", name="A third profile")
    with django_assert_max_num_queries(14):
        client.get("/dashboard/")

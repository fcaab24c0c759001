"""The read side's table: one narrow row per model that search, facets and sorting read."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse

from catalog.models import HubModel


class SearchEntry(models.Model):
    """A model's row in the search index: only what the catalog filters, counts and sorts on.

    Narrow (no JSON) and with the license result beside the facets, so a facet count or a
    sample reads a tenth of the catalog table and joins nothing. portal.searchindex keeps it in
    step: after the derived columns are written and after each license assessment."""

    model = models.OneToOneField(
        HubModel, primary_key=True, on_delete=models.CASCADE, related_name="search_entry"
    )
    repo_id = models.CharField(max_length=200)
    author = models.CharField(max_length=100, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    # The id cut into words, as portal.searchwords says: what text search matches.
    words = models.TextField(blank=True, default="")
    downloads = models.BigIntegerField(default=0)
    likes = models.IntegerField(default=0)
    last_modified = models.DateTimeField(null=True, blank=True)
    base_relation = models.CharField(max_length=12, blank=True)
    base_family = models.CharField(max_length=200, blank=True)
    pipeline_tag = models.CharField(max_length=100, blank=True)
    library_name = models.CharField(max_length=100, blank=True)
    weights_format = models.CharField(max_length=16, blank=True)
    gated = models.CharField(max_length=8, blank=True)
    param_bucket = models.CharField(max_length=8, blank=True)
    memory_gb = models.FloatField(null=True, blank=True)
    params_source = models.CharField(max_length=8, blank=True)
    declared = models.CharField(max_length=80, blank=True)
    verdict = models.CharField(max_length=12, blank=True)
    effective = models.CharField(max_length=12, blank=True)
    conflict = models.BooleanField(null=True)
    lineage_status = models.CharField(max_length=24, blank=True)
    suspected = models.BooleanField(null=True, help_text="a suspected base, its own or upstream")
    duties_unmet = models.BooleanField(null=True, help_text="a derivative's duty not met")
    data_commercial = models.CharField(max_length=12, blank=True, help_text="its training data's")
    data_conflict = models.BooleanField(null=True, help_text="weights freer than their data")

    class Meta:
        # Made by catalog's migrations (0007 to 0015, with PostgreSQL indexes of their own)
        # before the read side was an app of its own; the table kept its name.
        db_table = "catalog_searchentry"
        verbose_name_plural = "search entries"
        indexes = [
            models.Index(fields=["-downloads", "model"], name="search_downloads_idx"),
            models.Index(fields=["-likes", "model"], name="search_likes_idx"),
            models.Index(fields=["-last_modified", "model"], name="search_modified_idx"),
            models.Index(fields=["author", "-downloads"], name="search_author_idx"),
            models.Index(fields=["base_family", "-downloads"], name="search_family_idx"),
            models.Index(fields=["base_relation", "-downloads"], name="search_relation_idx"),
            models.Index(fields=["weights_format", "-downloads"], name="search_format_idx"),
            models.Index(fields=["pipeline_tag", "-downloads"], name="search_task_idx"),
            models.Index(fields=["library_name", "-downloads"], name="search_library_idx"),
            models.Index(fields=["declared", "-downloads"], name="search_license_idx"),
            models.Index(fields=["effective", "-downloads"], name="search_effective_idx"),
            models.Index(fields=["verdict", "-downloads"], name="search_verdict_idx"),
            models.Index(fields=["param_bucket"], name="search_bucket_idx"),
            models.Index(fields=["memory_gb"], name="search_memory_idx"),
            models.Index(fields=["gated"], name="search_gated_idx"),
            models.Index(fields=["lineage_status", "-downloads"], name="search_lineage_idx"),
            models.Index(fields=["suspected", "-downloads"], name="search_suspected_idx"),
            models.Index(fields=["duties_unmet", "-downloads"], name="search_duties_idx"),
            models.Index(fields=["data_commercial", "-downloads"], name="search_data_idx"),
            models.Index(fields=["data_conflict", "-downloads"], name="search_dataconflict_idx"),
            # An id typed in another case (Hub ids are case-insensitive): the exact-id tier.
            models.Index(Upper("repo_id"), name="search_repo_upper_idx"),
        ]

    def __str__(self) -> str:
        return self.repo_id

    def get_absolute_url(self) -> str:
        return reverse("portal:model_detail", args=[self.repo_id])

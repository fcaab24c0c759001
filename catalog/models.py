from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from . import hublink


class Gated(models.TextChoices):
    UNKNOWN = "", "unknown"
    NO = "no", "not gated"
    AUTO = "auto", "gated (automatic approval)"
    MANUAL = "manual", "gated (manual approval)"


class HubModelQuerySet(models.QuerySet["HubModel"]):
    def needing_details(self) -> HubModelQuerySet:
        """Models never fetched in full, or changed on the Hub since their last detail fetch."""
        return self.filter(Q(details_key="") | ~Q(details_key=models.F("change_key")))


class HubModel(models.Model):
    """A model repository on the Hub, as last seen by the crawler."""

    repo_id = models.CharField(max_length=200, unique=True)
    hub_id = models.CharField("Hub _id", max_length=32, null=True, blank=True, unique=True)
    author = models.CharField(max_length=100, blank=True, db_index=True)
    sha = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    last_modified = models.DateTimeField(null=True, blank=True)
    private = models.BooleanField(default=False)
    disabled = models.BooleanField(default=False)
    gated = models.CharField(max_length=8, choices=Gated.choices, blank=True, default=Gated.UNKNOWN)
    downloads = models.BigIntegerField(default=0)
    likes = models.IntegerField(default=0)
    library_name = models.CharField(max_length=100, blank=True)
    pipeline_tag = models.CharField(max_length=100, blank=True)
    tags = models.JSONField(default=list, blank=True)
    card_data = models.JSONField(null=True, blank=True)
    siblings = models.JSONField(null=True, blank=True, help_text="File names, when known")
    formats = models.JSONField(default=list, blank=True, help_text="safetensors, gguf, pickle, ...")
    parameter_count = models.BigIntegerField(null=True, blank=True)
    base_models = models.JSONField(null=True, blank=True, help_text="The Hub's baseModels answer")
    raw = models.JSONField(default=dict, blank=True, help_text="Last raw Hub record, merged")
    ingest_notes = models.JSONField(
        default=list, blank=True, help_text="what ingest cut or dropped to store the record"
    )

    # Change tracking. record_hash: the listing item as last stored, so an unchanged model is
    # never rewritten. change_key: sha or lastModified (whichever the Hub gave) as last listed;
    # details_key/files_key: the change_key at the last detail/file fetch.
    record_hash = models.CharField(max_length=32, blank=True)
    change_key = models.CharField(max_length=64, blank=True)
    details_key = models.CharField(max_length=64, blank=True)
    files_key = models.CharField(max_length=64, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    details_at = models.DateTimeField(null=True, blank=True)

    # Derived at ingest and by catalog.families.refresh(), denormalised for the search facets.
    base_relation = models.CharField(
        max_length=12, blank=True, help_text="relation to its parent, or 'base'"
    )
    base_parent = models.CharField(max_length=200, blank=True, help_text="first parent id")
    base_family = models.CharField(
        max_length=200,
        blank=True,
        help_text="root ancestor id (its own id for a base with children)",
    )
    weights_format = models.CharField(
        max_length=16, blank=True, help_text="gguf, safetensors, pickle-only or other"
    )
    params_estimate = models.BigIntegerField(null=True, blank=True)
    params_source = models.CharField(max_length=8, blank=True, help_text="metadata or name")
    quant = models.CharField(max_length=16, blank=True, help_text="Q4_K_M, GPTQ, AWQ, fp16, ...")
    bits = models.FloatField(null=True, blank=True, help_text="bits per weight")
    memory_gb = models.FloatField(null=True, blank=True, help_text="estimated memory to run")
    param_bucket = models.CharField(max_length=8, blank=True)
    summary = models.CharField(max_length=300, blank=True, help_text="the card's first paragraph")

    objects = HubModelQuerySet.as_manager()

    # The JSON columns: pages that list or draw many models defer them.
    HEAVY = ("raw", "card_data", "siblings", "tags", "base_models")

    class Meta:
        # Search, facets and sorting read SearchEntry; these serve the crawler, the family
        # pages and the explorer's pages of children.
        indexes = [
            models.Index(fields=["-downloads", "id"], name="hubmodel_downloads_idx"),
            models.Index(fields=["-updated_at"], name="hubmodel_updated_idx"),
            models.Index(
                fields=["base_family", "base_relation", "-downloads", "id"],
                name="hubmodel_family_idx",
            ),
            models.Index(
                fields=["base_parent", "base_relation", "-downloads", "id"],
                name="hubmodel_children_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.repo_id

    def get_absolute_url(self) -> str:
        return reverse("portal:model_detail", args=[self.repo_id])

    @property
    def name(self) -> str:
        return self.repo_id.split("/", 1)[-1]

    @property
    def hub_url(self) -> str:
        """The real Hub's page ("" for an id the Hub cannot have); never the crawl endpoint."""
        return hublink.url(self.repo_id)

    @property
    def pickle_only(self) -> bool:
        return "pickle" in self.formats and not {"safetensors", "gguf"} & set(self.formats)


class Relation(models.TextChoices):
    FINETUNE = "finetune"
    ADAPTER = "adapter"
    QUANTIZED = "quantized"
    MERGE = "merge"
    UNSPECIFIED = "unspecified"


class RelationSource(models.TextChoices):
    CARD = "card", "card base_model_relation"
    HUB = "hub", "typed base_model tag / baseModels"
    INFERRED = "inferred", "inferred from tags, library and files"
    DEFAULT = "default", "no signal: the Hub's default (finetune)"
    PEFT_CONFIG = "peft_config", "the adapter's own config (PEFT base_model_name_or_path)"


class LineageEdge(models.Model):
    """child -> parent. The parent is a repo id string: it may not be crawled yet."""

    child = models.ForeignKey(HubModel, on_delete=models.CASCADE, related_name="parent_edges")
    parent_repo_id = models.CharField(max_length=200)
    relation = models.CharField(max_length=12, choices=Relation.choices)
    relation_source = models.CharField(max_length=12, choices=RelationSource.choices)
    origin = models.CharField(
        max_length=32, help_text="where the edge was read: tags, card, baseModels (comma-joined)"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["child", "parent_repo_id"], name="edge_child_parent_uniq"
            )
        ]
        indexes = [models.Index(fields=["parent_repo_id", "relation"], name="edge_parent_rel_idx")]

    def __str__(self) -> str:
        return f"{self.child_id} -[{self.relation}]-> {self.parent_repo_id}"


class RepoAlias(models.Model):
    """An id the Hub redirects (renamed repos, legacy un-namespaced ids) to a model's id."""

    alias = models.CharField(max_length=200, unique=True)
    model = models.ForeignKey(HubModel, on_delete=models.CASCADE, related_name="aliases")
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "repo aliases"

    def __str__(self) -> str:
        return f"{self.alias} -> {self.model_id}"


class ModelFile(models.Model):
    """A file fetched as license evidence (README.md, LICENSE*, USE_POLICY*)."""

    MAX_CHARS = 1_000_000  # a file as stored (records.bounded_file cuts it there)

    model = models.ForeignKey(HubModel, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=300)
    revision = models.CharField(max_length=40, blank=True)
    etag = models.CharField(max_length=80, blank=True)
    text = models.TextField()
    original_chars = models.PositiveIntegerField(
        null=True, blank=True, help_text="its length when it was cut to the stored bound"
    )
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "path"], name="file_model_path_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.model_id}:{self.path}"

    @property
    def text_bound(self) -> int:
        return self.MAX_CHARS


class CrawlRun(models.Model):
    class Kind(models.TextChoices):
        FULL = "full"
        INCREMENTAL = "incremental"
        AUTHOR = "author"
        SEARCH = "search"
        DESCENDANTS = "descendants"
        ANCESTORS = "ancestors"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    class Phase(models.TextChoices):
        LISTING = "listing"
        DERIVING = "deriving"  # listed; the facet columns of what it listed are derived next
        DETAILS = "details"
        DATASETS = "datasets"  # the training data its models declare (catalog.datasets)
        FINISHED = "finished"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    target = models.CharField(
        max_length=200, blank=True, help_text="author, search text or repo id"
    )
    endpoint = models.CharField(max_length=200)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=8, choices=Phase.choices, default=Phase.LISTING)
    limit = models.PositiveIntegerField(default=0, help_text="models to list at most; 0: all")
    cursor = models.TextField(blank=True, help_text="next listing page URL (checkpoint)")
    pending = models.JSONField(default=list, blank=True, help_text="repo ids still to visit")
    seen = models.JSONField(default=list, blank=True, help_text="repo ids visited (tree walks)")
    lease = models.CharField(max_length=36, blank=True, help_text="the worker running it now")
    watermark = models.DateTimeField(null=True, blank=True, help_text="newest lastModified seen")
    pages = models.PositiveIntegerField(default=0)
    listed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    details_fetched = models.PositiveIntegerField(default=0)
    files_fetched = models.PositiveIntegerField(default=0)
    edges_written = models.PositiveIntegerField(default=0)
    datasets_listed = models.PositiveIntegerField(default=0)
    datasets_fetched = models.PositiveIntegerField(default=0, help_text="dataset_info calls")
    datasets_after = models.CharField(
        max_length=200, blank=True, help_text="the last declared dataset id asked for (keyset)"
    )
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="the last errors, newest last")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # What resume_stalled saw last: the dead worker's lease and the checkpoint it left, and
    # how many workers in a row died at that checkpoint (runs.resume_stalled bounds it).
    resumed_lease = models.CharField(max_length=36, blank=True)
    resumed_progress = models.CharField(max_length=40, blank=True)
    resumptions = models.PositiveIntegerField(default=0)
    # Runs a run starts (the ancestors walks its models call for) point at the top-level run
    # whose crawl led to them, so /crawls/ groups them under it.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children",
        help_text="the run this one was started for",
    )  # fmt: skip
    # Models the Hub answered 404 for: an outcome of the walk (a parent named by a card but
    # deleted, private or misspelt), not an error of the run.
    not_found = models.PositiveIntegerField(default=0)
    not_found_ids = models.JSONField(default=list, blank=True, help_text="the first of them")
    # The current phase: when it began, what it has to do when that is known as it begins,
    # and what it has done; earlier phases are summed up in phase_log (see catalog.progress).
    phase_started_at = models.DateTimeField(null=True, blank=True)
    phase_total = models.PositiveIntegerField(null=True, blank=True)
    phase_done = models.PositiveIntegerField(default=0)
    phase_log = models.JSONField(default=list, blank=True, help_text="finished phases")

    NOT_FOUND_KEPT = 1000
    # What a phase change writes (crawler saves them with the step that changes the phase).
    PHASE_FIELDS = ["phase", "phase_started_at", "phase_total", "phase_done", "phase_log"]
    NOTE_FIELDS = ["errors", "error_count", "not_found", "not_found_ids"]

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} crawl #{self.pk} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("catalog:crawl_detail", args=[self.pk])

    @classmethod
    def latest_endpoint(cls) -> str | None:
        """Where the catalog's models came from: the endpoint of the latest crawl."""
        return cls.objects.order_by("-created_at").values_list("endpoint", flat=True).first()

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def duration(self):
        if not self.started_at:
            return None
        return (self.finished_at or timezone.now()) - self.started_at

    def add_not_found(self, repo_id: str) -> None:
        self.not_found += 1
        if len(self.not_found_ids) < self.NOT_FOUND_KEPT:
            self.not_found_ids = [*self.not_found_ids, repo_id]

    def add_error(self, message: str) -> None:
        self.error_count += 1
        self.errors = [*self.errors[-19:], {"at": timezone.now().isoformat(), "error": message}]


class QuarantinedRecord(models.Model):
    """A Hub record (or file) the crawler could not store, set aside so the rest of its page
    and run went on. The next run tries it again; a later successful store resolves it."""

    class Step(models.TextChoices):
        LISTING = "listing"
        DETAILS = "details"
        FILES = "files"
        DATASETS = "datasets"

    run = models.ForeignKey(
        CrawlRun, on_delete=models.CASCADE, related_name="quarantined", help_text="last tried by"
    )
    repo_id = models.CharField(max_length=200, blank=True, help_text="empty: the record had none")
    step = models.CharField(max_length=8, choices=Step.choices)
    path = models.CharField(max_length=300, blank=True, help_text="the file, for the files step")
    error = models.TextField()
    record = models.TextField(blank=True, help_text="the raw record as JSON, cut to its bound")
    attempts = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen_at", "-pk"]
        indexes = [
            models.Index(
                fields=["repo_id", "step"],
                name="quarantine_open_idx",
                condition=models.Q(resolved_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.repo_id or '?'} ({self.step})"


class HubBudget(models.Model):
    """Embedded-mode store of the request budget (see catalog.budget); Redis replaces it."""

    bucket = models.CharField(max_length=16, primary_key=True)
    # The current window: when it ends (epoch seconds) and the requests counted in it.
    window_end = models.FloatField(default=0)
    used = models.PositiveIntegerField(default=0)
    # The quota and window the Hub last announced (RateLimit-Policy); 0 until it has.
    quota = models.PositiveIntegerField(default=0)
    window = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.bucket}: {self.used} until {self.window_end:.0f}"


class HubDataset(models.Model):
    """A dataset repository on the Hub that models declare as training data, as last seen.

    A dataset the Hub answered 404 for stays as a row with `found=False`, so it is not asked
    for again on every run and its models say which of their datasets cannot be read."""

    repo_id = models.CharField(max_length=200, unique=True)
    author = models.CharField(max_length=100, blank=True)
    sha = models.CharField(max_length=40, blank=True)
    last_modified = models.DateTimeField(null=True, blank=True)
    gated = models.CharField(max_length=8, choices=Gated.choices, blank=True, default=Gated.UNKNOWN)
    downloads = models.BigIntegerField(default=0)
    tags = models.JSONField(default=list, blank=True)
    card_data = models.JSONField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True, help_text="Last raw Hub record")
    ingest_notes = models.JSONField(default=list, blank=True)
    found = models.BooleanField(default=True, help_text="False: the Hub has no such dataset")
    record_hash = models.CharField(max_length=32, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    checked_at = models.DateTimeField(default=timezone.now, help_text="last listed or asked for")

    def __str__(self) -> str:
        return self.repo_id

    def get_absolute_url(self) -> str:
        return reverse("portal:dataset_detail", args=[self.repo_id])

    @property
    def hub_url(self) -> str:
        return hublink.url(self.repo_id, kind="datasets")


class TrainingData(models.Model):
    """model -> dataset it declares it was trained on. The dataset is an id string: it may not
    be crawled yet (as a lineage edge's parent)."""

    class Source(models.TextChoices):
        CARD = "card", "the card's datasets:"
        TAGS = "tags", "a dataset: tag"
        BOTH = "card,tags", "the card's datasets: and a dataset: tag"

    model = models.ForeignKey(HubModel, on_delete=models.CASCADE, related_name="training_data")
    dataset_repo_id = models.CharField(max_length=200)
    source = models.CharField(max_length=9, choices=Source.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model", "dataset_repo_id"], name="trainingdata_model_dataset_uniq"
            )
        ]
        indexes = [models.Index(fields=["dataset_repo_id"], name="trainingdata_dataset_idx")]

    def __str__(self) -> str:
        return f"{self.model_id} trained on {self.dataset_repo_id}"

"""Approval requests and decisions, policies, waivers, API tokens and the audit log."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import date

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, models, router, transaction
from django.urls import reverse
from django.utils import timezone

from catalog.models import HubModel
from config.inputs import CheckedQuerySet, CheckedWrites
from licenses.models import DataStatus, LineageStatus, Verdict
from usage.models import UsageProfile, UsageVerdict

from . import chain
from .roles import allowed_scopes, may_administer


class IntendedUse(models.TextChoices):
    RESEARCH = "research", "research"
    INTERNAL_TOOL = "internal_tool", "internal tool"
    COMMERCIAL_PRODUCT = "commercial_product", "commercial product"
    HOSTED_SERVICE = "hosted_service", "hosted service"


class Status(models.TextChoices):
    PENDING = "pending", "pending review"
    APPROVED = "approved", "approved"
    CONDITIONAL = "approved_with_conditions", "approved with conditions"
    REJECTED = "rejected", "rejected"
    NEEDS_REREVIEW = "needs_rereview", "needs re-review"
    WITHDRAWN = "withdrawn", "withdrawn"


APPROVED = (Status.APPROVED, Status.CONDITIONAL)


class Scope(models.TextChoices):
    REVISION = "revision", "this revision only"
    MODEL = "model", "any revision of the model"
    FAMILY = "family", "the model and its quantizations with the same terms"


class ApprovalRequestQuerySet(models.QuerySet["ApprovalRequest"]):
    def visible_to(self, user) -> ApprovalRequestQuerySet:
        """Approvers, legal and admins see every request; everyone else sees their own."""
        if not user.is_authenticated:
            return self.none()
        if user.has_perm("approvals.view_all_requests"):
            return self
        return self.filter(requested_by=user)

    def active(self) -> ApprovalRequestQuerySet:
        return self.filter(status__in=APPROVED)


class ApprovalRequest(CheckedWrites, models.Model):
    """A developer's request to use a model, and the decision on it (one row: one workflow)."""

    model = models.ForeignKey(HubModel, on_delete=models.PROTECT, related_name="approval_requests")
    revision = models.CharField(max_length=40, blank=True, help_text="pinned sha, if any")
    intended_use = models.CharField(max_length=20, choices=IntendedUse.choices)
    justification = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approval_requests"
    )
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.MODEL)
    profile = models.ForeignKey(
        UsageProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="the product or team it is asked for: its verdict is part of the decision",
    )  # fmt: skip
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by_rule = models.ForeignKey(
        "Policy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    conditions_text = models.TextField(blank=True)
    attribution_required = models.BooleanField(default=False)
    internal_only = models.BooleanField(default=False)
    expires_at = models.DateField(null=True, blank=True)
    # What the decision was made on (license result, gated, sha): re-review compares with it.
    snapshot = models.JSONField(default=dict, blank=True)
    changes = models.JSONField(default=list, blank=True, help_text="what changed since decision")
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ApprovalRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["model", "status"], name="approval_model_status_idx")]
        permissions = [
            ("view_all_requests", "Can see every approval request"),
            ("decide_request", "Can decide approval requests"),
            ("view_audit_log", "Can read and export the audit log"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.model_id} for {self.intended_use} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("approvals:request_detail", args=[self.pk])

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at < date.today()

    @property
    def is_approved(self) -> bool:
        return self.status in APPROVED and not self.is_expired

    @property
    def structured_conditions(self) -> list[str]:
        """The conditions ticked. Not the expiry: every approval has one (shown on its own),
        as in the check API's answer."""
        out = []
        if self.attribution_required:
            out.append("attribution required")
        if self.internal_only:
            out.append("internal only")
        return out


class Coverage(models.Model):
    """Which models an approval covers: itself, or for a family scope its same-terms
    quantizations. Written at decision time so the check API reads one indexed join."""

    approval = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="covers")
    model = models.ForeignKey(HubModel, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "approval"], name="coverage_model_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.approval_id} covers {self.model_id}"


class Action(models.TextChoices):
    APPROVE = "approve", "auto-approve"
    REJECT = "reject", "auto-reject"
    REVIEW = "review", "send to review"


class Tri(models.TextChoices):
    ANY = "", "any"
    YES = "yes", "yes"
    NO = "no", "no"


# The list fields of a rule that hold names of a fixed set: a name no model can have would make
# the rule match nothing, silently.
POLICY_NAMES = {
    "verdicts": Verdict.values,
    "lineage_statuses": LineageStatus.values,
    "data_verdicts": Verdict.values,
    "data_statuses": DataStatus.values,
    "profile_verdicts": UsageVerdict.values,
}


TRI_NAMES = ("gated", "conflict", "suspected_base", "data_conflict")


def policy_problems(fields: dict) -> dict[str, str]:
    problems = {}
    for name in TRI_NAMES:
        if name in fields and fields[name] not in Tri.values:
            problems[name] = f"one of {', '.join(repr(v) for v in Tri.values)}"
    for name, known in POLICY_NAMES.items():
        if name not in fields:
            continue
        values = fields[name]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            problems[name] = "a list of names"
        elif bad := sorted(set(values) - set(known)):
            problems[name] = f"unknown: {', '.join(bad)} (known: {', '.join(known)})"
    if (
        fields.get("profile_verdicts")
        and fields.get("profile_id", fields.get("profile", 0)) is None
    ):
        problems["profile_verdicts"] = "a rule on a profile's verdicts names the profile"
    return problems


class PolicyQuerySet(CheckedQuerySet["Policy"]):
    problems = staticmethod(policy_problems)


class Policy(CheckedWrites, models.Model):
    """A rule over the license result of a model and the intended use. Empty lists match all;
    the first enforced rule that matches (lowest order) decides."""

    name = models.CharField(max_length=120)
    order = models.PositiveIntegerField(default=100)
    action = models.CharField(max_length=8, choices=Action.choices)
    enforced = models.BooleanField(default=False, help_text="off: dry run only")
    verdicts = models.JSONField(default=list, blank=True, help_text="effective verdicts")
    lineage_statuses = models.JSONField(
        default=list,
        blank=True,
        help_text="lineage statuses (unknown_ancestor_terms: an ancestor's terms are unknown)",
    )
    condition_codes = models.JSONField(default=list, blank=True, help_text="any of these codes")
    licenses = models.JSONField(default=list, blank=True, help_text="declared license keys")
    authors = models.JSONField(default=list, blank=True)
    uses = models.JSONField(default=list, blank=True, help_text="intended uses")
    gated = models.CharField(max_length=3, choices=Tri.choices, blank=True, default=Tri.ANY)
    conflict = models.CharField(max_length=3, choices=Tri.choices, blank=True, default=Tri.ANY)
    suspected_base = models.CharField(
        max_length=3, choices=Tri.choices, blank=True, default=Tri.ANY,
        help_text="no: a model with a suspected base (its own or upstream) is not matched, "
        "so a rule allowing `allowed` sends it to a person",
    )  # fmt: skip
    # Training data (licenses.training): kept apart from the weights' verdict, so a rule says
    # whether it counts (a rule approving `allowed` with data_conflict "no" sends an apache-2.0
    # model trained on a non-commercial dataset to a person).
    data_verdicts = models.JSONField(
        default=list, blank=True, help_text="the training data's verdicts (data_commercial)"
    )
    data_statuses = models.JSONField(
        default=list, blank=True, help_text="complete, datasets_unknown, none_declared"
    )
    data_conflict = models.CharField(
        max_length=3, choices=Tri.choices, blank=True, default=Tri.ANY,
        help_text="the weights more permissive than their training data",
    )  # fmt: skip
    # A rule with a profile decides only requests made for that profile, on its verdict there
    # (usage.verdict): "auto-approve what is usable for Product X".
    profile = models.ForeignKey(UsageProfile, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")  # fmt: skip
    profile_verdicts = models.JSONField(
        default=list, blank=True, help_text="usable, review, blocked (for the rule's profile)"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    objects = PolicyQuerySet.as_manager()

    class Meta:
        ordering = ["order", "id"]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return f"{self.name} ({self.get_action_display()}{'' if self.enforced else ', dry run'})"

    def save(self, *args, **kwargs) -> None:
        self.clean()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        names = [*POLICY_NAMES, *TRI_NAMES, "profile_id"]
        if problems := policy_problems({n: getattr(self, n) for n in names}):
            raise ValidationError(problems)


class WaiverReason(models.TextChoices):
    LICENSE_ACQUIRED = "license_acquired", "license acquired separately"
    INTERNAL_RESEARCH = "internal_research", "internal research only"
    NOT_DISTRIBUTED = "not_distributed", "not distributed"
    VENDOR_AGREEMENT = "vendor_agreement", "covered by a vendor agreement"
    LEGAL_OPINION = "legal_opinion", "legal opinion on file"


class WaiverQuerySet(models.QuerySet["Waiver"]):
    def active(self) -> WaiverQuerySet:
        return self.filter(revoked=False, expires_at__gte=date.today())


class Waiver(CheckedWrites, models.Model):
    """An exception for a model (and revision) granted by an approver, with evidence, expiring."""

    model = models.ForeignKey(HubModel, on_delete=models.PROTECT, related_name="waivers")
    revision = models.CharField(max_length=40, blank=True)
    reason = models.CharField(max_length=20, choices=WaiverReason.choices)
    evidence_link = models.URLField(max_length=500)
    note = models.TextField(blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateField()
    revoked = models.BooleanField(default=False)

    objects = WaiverQuerySet.as_manager()

    class Meta:
        ordering = ["-granted_at", "-id"]
        indexes = [models.Index(fields=["model", "revoked"], name="waiver_model_idx")]

    def __str__(self) -> str:
        return f"waiver #{self.pk} {self.model_id} until {self.expires_at}"


APPEND_ONLY = "the audit log is append-only"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """The ORM paths that would change or remove rows, or insert them past the chain, raise.
    (The database refuses them too: migration 0005's triggers.)"""

    def update(self, **kwargs):
        raise PermissionDenied(APPEND_ONLY)

    def delete(self):
        raise PermissionDenied(APPEND_ONLY)

    def bulk_update(self, *args, **kwargs):
        raise PermissionDenied(APPEND_ONLY)

    def bulk_create(self, *args, **kwargs):
        raise PermissionDenied(f"{APPEND_ONLY}; entries are chained one at a time")

    def _raw_delete(self, *args, **kwargs):
        raise PermissionDenied(APPEND_ONLY)


class AuditEvent(CheckedWrites, models.Model):
    """Append-only and hash-chained: rows are inserted, never updated or deleted, and each
    one's hash covers its content and the previous row's hash (approvals.chain)."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    # PROTECT: a user with entries is deactivated, not deleted; actor_user_id and actor_label
    # are the actor as written, whatever happens to the account afterwards.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_user_id = models.BigIntegerField(null=True, blank=True, editable=False)
    actor_label = models.CharField(max_length=150, help_text="username, or the rule / system")
    action = models.CharField(max_length=40, db_index=True)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40, blank=True)
    repo_id = models.CharField(max_length=200, blank=True, db_index=True)
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    hash = models.CharField(max_length=64, blank=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            # One successor per entry: a second writer chaining onto the same tail fails here.
            models.UniqueConstraint(fields=["prev_hash"], name="audit_chain_linear")
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type}"

    def save(self, *args, **kwargs):
        if self.pk is not None or not self._state.adding:
            raise PermissionDenied(APPEND_ONLY)
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            chain.lock_tail(connections[using])
            tail = type(self).objects.using(using).order_by("-id").values_list("hash", flat=True)
            self.prev_hash = tail.first() or ""
            self.actor_user_id = self.actor_id
            self.detail = chain.canonical_detail(self.detail)
            self.hash = chain.entry_hash(self, self.prev_hash)
            super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied(APPEND_ONLY)


TOKEN_FIXED = ("user_id", "prefix", "digest", "created_at")


def _may_widen_token(actor, token: ApiToken) -> bool:
    """Narrowing, revoking or shortening a token only takes power away; widening it is for its
    owner or who may administer its owner (nobody administers someone stronger:
    approvals.roles). No actor is code acting for the system (create_token, migrations)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return actor is None
    return actor.pk == token.user_id or may_administer(actor, token.user)


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    """Tokens change through ApiToken.save (which checks and audits), never in bulk."""

    def update(self, **kwargs):
        raise PermissionDenied("change a token through ApiToken.save: it checks and audits")

    def bulk_update(self, *args, **kwargs):
        raise PermissionDenied("change a token through ApiToken.save: it checks and audits")


class ApiToken(CheckedWrites, models.Model):
    """An API token acting as its user, limited to the user's role and to its scopes.
    Only a SHA-256 of the secret is stored; the secret is shown once at creation.

    Its user, secret and creation are fixed; its scopes never exceed what its user's role
    allows (approvals.roles.allowed_scopes: at issue, at each change, and at use); revocation
    is final and an expiry only moves earlier. Every save audits what it changed."""

    SCOPES = ("check", "read", "write")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list, help_text='any of "check", "read", "write"')
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="refused from then on; once set, it only moves earlier"
    )
    revoked_at = models.DateTimeField(
        null=True, blank=True, help_text="set it to revoke (now); a revoked token stays revoked"
    )
    profile = models.ForeignKey(
        UsageProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="a pipeline's product: its checks answer with the profile's verdict",
    )  # fmt: skip

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…, {self.user_id})"

    def save(self, *args, actor=None, label: str = "", **kwargs):
        from . import audit

        old = self._stored()
        if old is not None:
            if not _may_widen_token(actor, self) and not set(self.scopes) <= set(old.scopes):
                raise PermissionDenied(
                    "only its owner, or who may administer its owner, widens a token's scopes"
                )
            for field in TOKEN_FIXED:
                if getattr(old, field) != getattr(self, field):
                    raise PermissionDenied(f"a token's {field} is fixed at creation")
            if old.revoked_at is not None and self.revoked_at != old.revoked_at:
                raise PermissionDenied("revocation is final: issue a new token")
            if old.revoked_at is None and self.revoked_at is not None:
                self.revoked_at = timezone.now()  # revoked now, whatever the form said
        self.clean()
        self.scopes = sorted(set(self.scopes), key=self.SCOPES.index)
        base = {"prefix": self.prefix, "user": self.user.get_username(), "name": self.name}
        with transaction.atomic():
            super().save(*args, **kwargs)
            note = functools.partial(audit.record, actor=actor, label=label, obj=self)
            if old is None:
                note(action="token.created", detail={**base, "scopes": self.scopes,
                     "expires_at": self.expires_at and self.expires_at.isoformat(),
                     "profile": self.profile.slug if self.profile else None})  # fmt: skip
                return
            if old.scopes != self.scopes:
                note(action="token.scopes_changed",
                     detail={**base, "old": old.scopes, "new": self.scopes})  # fmt: skip
            if old.revoked_at is None and self.revoked_at is not None:
                note(action="token.revoked", detail={**base, "scopes": self.scopes})
            moved = [f for f in ("name", "expires_at", "profile")
                     if getattr(old, f) != getattr(self, f)]  # fmt: skip
            if moved:
                note(action="token.changed", detail={**base,
                     "old": {f: str(getattr(old, f) or "") for f in moved},
                     "new": {f: str(getattr(self, f) or "") for f in moved}})  # fmt: skip

    def delete(self, *args, **kwargs):
        raise PermissionDenied("revoke a token instead: the audit log refers to it")

    @staticmethod
    def hash(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def issue(
        cls, user, *, name: str, scopes: list[str], expires_at=None, by=None, label: str = "",
        profile: UsageProfile | None = None,
    ) -> tuple[ApiToken, str]:  # fmt: skip
        secret = "cnp_" + secrets.token_urlsafe(32)
        token = cls(user=user, name=name, prefix=secret[:12], digest=cls.hash(secret),
                    scopes=list(scopes), expires_at=expires_at, profile=profile)  # fmt: skip
        token.save(actor=by, label=label)
        return token, secret

    def revoke(self, *, by=None, label: str = "") -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(actor=by, label=label)

    def _stored(self) -> ApiToken | None:
        if self._state.adding or self.pk is None:
            return None
        return type(self)._base_manager.filter(pk=self.pk).first()

    def clean(self) -> None:
        """The rules a change must keep (the admin shows them as form errors; save enforces)."""
        old = self._stored()
        if not isinstance(self.scopes, list) or set(self.scopes) - set(self.SCOPES):
            raise ValidationError({"scopes": f"a list of {', '.join(self.SCOPES)}"})
        added = set(self.scopes) - set(old.scopes if old else [])
        beyond = added - allowed_scopes(self.user)
        if beyond:
            raise ValidationError(
                {"scopes": f"{self.user}'s role does not allow {', '.join(sorted(beyond))}"}
            )
        if old and old.expires_at and (self.expires_at is None or self.expires_at > old.expires_at):
            raise ValidationError({"expires_at": "an expiry only moves earlier"})

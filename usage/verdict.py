"""A model's verdict for a usage profile, from what its license result says.

`Inputs` is all the verdict reads; many models share one, so a whole-catalog evaluation
(usage.evaluate) computes `answer` once per distinct Inputs, and a page computes it for one
model from the same fields: one rule, wherever it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from licenses.models import DataStatus, LineageStatus, ModelLicense, lineage_summary, suspicion_of
from licenses.rules import BLOCK, OBLIGE, REVIEW, RISK, Circumstances, Finding, ModelFacts, judge

from .models import UsageVerdict

# The Hub's pipeline tags of models that take or give more than text (the Llama 3.2+ EU clause
# reads "multimodal models"); a tag outside both sets, or none, leaves it unknown.
MULTIMODAL = frozenset(
    {"image-text-to-text", "visual-question-answering", "any-to-any", "video-text-to-text",
     "image-to-text", "document-question-answering", "audio-text-to-text", "text-to-image",
     "image-to-image", "text-to-video", "text-to-speech", "automatic-speech-recognition"}
)  # fmt: skip
TEXT_ONLY = frozenset(
    {"text-generation", "text2text-generation", "fill-mask", "feature-extraction",
     "sentence-similarity", "text-classification", "token-classification", "question-answering",
     "summarization", "translation", "conversational", "zero-shot-classification",
     "table-question-answering"}
)  # fmt: skip
UNASSESSED = "unassessed"
FIELDS = ("declared", "inherited_keys", "lineage_status", "lineage_gaps", "suspected_bases",
          "data_commercial", "data_status")  # fmt: skip


def multimodal(pipeline_tag: str | None) -> bool | None:
    if pipeline_tag in MULTIMODAL:
        return True
    return False if pipeline_tag in TEXT_ONLY else None


@dataclass(frozen=True)
class Inputs:
    """What a model's verdict for any profile reads (hashable: evaluations memoise on it)."""

    assessed: bool
    declared: str = ""
    inherited: tuple[str, ...] = ()
    lineage_status: str = LineageStatus.COMPLETE
    lineage_note: str = ""
    suspicion: str = ""
    data_commercial: str = "unknown"
    data_status: str = DataStatus.NONE_DECLARED
    multimodal: bool | None = None


def inputs_of(pipeline_tag: str | None, row: tuple | None) -> Inputs:
    """From a model's pipeline tag and its ModelLicense FIELDS (None: not assessed yet)."""
    if row is None or row[0] is None:
        return Inputs(assessed=False, multimodal=multimodal(pipeline_tag))
    declared, inherited, status, gaps, suspected, data_commercial, data_status = row
    keys = tuple(k for k in inherited if isinstance(k, str)) if isinstance(inherited, list) else ()
    return Inputs(
        assessed=True, declared=declared or "", inherited=keys, lineage_status=status,
        lineage_note=lineage_summary(status, gaps), suspicion=suspicion_of(suspected, gaps).summary,
        data_commercial=data_commercial, data_status=data_status,
        multimodal=multimodal(pipeline_tag),
    )  # fmt: skip


def verdict_key(pipeline_tag: str | None, row: tuple | None) -> tuple:
    """What of inputs_of(...) the verdict reads (not the reasons' wording: which ancestors are
    missing, what the suspicion says), so a whole-catalog pass computes each verdict once."""
    if row is None or row[0] is None:
        return (None, multimodal(pipeline_tag))
    declared, inherited, status, gaps, suspected, data_commercial, _ = row
    keys = tuple(k for k in inherited if isinstance(k, str)) if isinstance(inherited, list) else ()
    return (declared or "", keys, status, bool(suspicion_of(suspected, gaps)), data_commercial,
            multimodal(pipeline_tag))  # fmt: skip


def inputs_for(model) -> Inputs:
    state = ModelLicense.objects.filter(model_id=model.pk).values_list(*FIELDS).first()
    return inputs_of(model.pipeline_tag, state)


@dataclass(frozen=True)
class Answer:
    verdict: str
    reasons: tuple[Finding, ...] = ()
    obligations: tuple[Finding, ...] = ()
    risks: tuple[Finding, ...] = ()

    @property
    def summary(self) -> str:
        """One line: "usable, with: show the attribution (Built with Llama); ..."."""
        if self.verdict == UsageVerdict.USABLE:
            with_ = "; ".join(dict.fromkeys(f.text for f in self.obligations))
            return f"usable, with: {with_}" if with_ else "usable"
        return f"{self.verdict}: " + "; ".join(dict.fromkeys(f.text for f in self.reasons))

    def as_json(self, profile_slug: str) -> dict:
        return {"profile": profile_slug, "verdict": self.verdict,
                "reasons": [f.as_json() for f in self.reasons],
                "obligations": [f.as_json() for f in self.obligations],
                "risks": [f.as_json() for f in self.risks]}  # fmt: skip


def _unique(findings: list[Finding]) -> tuple[Finding, ...]:
    seen: dict[tuple[str, str], Finding] = {}
    for f in findings:
        seen.setdefault((f.code, f.text), f)
    return tuple(seen.values())


@lru_cache(maxsize=20_000)
def answer(c: Circumstances, i: Inputs) -> Answer:
    """The verdict: blocked when a condition puts the use outside the grant, review when a
    person must read something no rule can (an unknown license, a condition without a rule, a
    lineage or training data that may bind it), else usable with the obligations it incurs."""
    if not i.assessed:
        return Answer(UsageVerdict.REVIEW, (Finding(UNASSESSED, REVIEW,
                      "its license has not been assessed yet", ""),))  # fmt: skip
    findings: list[Finding] = []
    # A derivative that declares nothing is bound by what it inherits (a quantization is its
    # base's weights); with nothing declared or inherited no terms are known.
    if not i.declared and not i.inherited:
        findings.append(Finding("no_license", REVIEW, "it declares no license", ""))
    for key in dict.fromkeys(k for k in (i.declared, *i.inherited) if k):
        findings += judge(key, c, ModelFacts(i.multimodal))
    if i.lineage_status != LineageStatus.COMPLETE:
        findings.append(Finding("lineage", REVIEW, i.lineage_note or i.lineage_status, ""))
    if i.suspicion:
        findings.append(Finding("suspected_base", REVIEW, i.suspicion, ""))
    if i.data_commercial == "prohibited" and c.commercial:
        findings.append(Finding("training_data", REVIEW, "trained on data whose license does not "
                                "allow commercial use: whether it binds the weights is for a "
                                "person to decide", ""))  # fmt: skip
    blocks = [f for f in findings if f.outcome == BLOCK]
    reviews = [f for f in findings if f.outcome == REVIEW]
    obligations = _unique([f for f in findings if f.outcome == OBLIGE])
    risks = _unique([f for f in findings if f.outcome == RISK])
    if blocks:
        return Answer(UsageVerdict.BLOCKED, _unique(blocks + reviews), obligations, risks)
    if reviews:
        return Answer(UsageVerdict.REVIEW, _unique(reviews), obligations, risks)
    return Answer(UsageVerdict.USABLE, (), obligations, risks)

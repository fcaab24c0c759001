"""A rule per condition code: what the condition means for one organisation's use.

The knowledge base says what a license requires; a usage profile (usage.models.UsageProfile)
says who uses the model and how. `judge` reads each condition of a license against the
profile's `Circumstances` and gives findings: `block` (the use is outside the grant), `review`
(a person must read the clause against facts no rule can weigh), `oblige` (something to do) or
`risk` (terms that can change or end). A code without a rule, or a value a rule cannot read,
is `review`: never silently usable.

Every finding cites the clause it reads: the quote below where the knowledge base's reference
text holds it (tests/licenses/test_rules.py finds each quote verbatim in its file), else the
license's own obligation clauses, else its decisive clause.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .classify import PROHIBITED, UNKNOWN, condition_label, kb

BLOCK, REVIEW, OBLIGE, RISK = "block", "review", "oblige", "risk"

# What a profile can say it does with a model (UsageProfile.deployments).
DEPLOYMENTS = {
    "internal": "internal tool",
    "hosted": "hosted service or API",
    "shipped": "shipped inside a product or on devices",
    "redistribute_weights": "redistributes the weights",
}
# Domains a use policy can name (UsageProfile.domains); every use policy and use-based
# restriction in the knowledge base names uses in each of them (the Llama policies' §1-2, Gemma's
# prohibited use policy, the OpenRAIL attachments), so a profile serving one goes to a person.
DOMAINS = {
    "medical": "health care, diagnosis or treatment",
    "legal": "legal advice",
    "financial": "credit, insurance or financial advice",
    "employment": "hiring and employment decisions",
    "military": "military, defence or weapons",
    "critical_infrastructure": "critical infrastructure or heavy machinery",
    "surveillance": "surveillance or biometric identification",
    "minors": "services used by children",
    "elections": "elections and political campaigning",
    "law_enforcement": "law enforcement",
}
EU_MEMBERS = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
REGION_NAMES = {"european union": "EU", "united kingdom": "GB", "south korea": "KR"}
# ISO 3166-1 alpha-2, assigned codes: a code outside it (UK, EL) would be read as somewhere no
# clause names, and a territory rule would let it pass.
_ISO_3166 = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"""
COUNTRIES = frozenset(_ISO_3166.split())
ALIASES = {"UK": "use GB", "EL": "use GR (Greece)"}  # common non-ISO names, refused with a hint
REGION = re.compile("|".join(["EU", "WORLD", *sorted(COUNTRIES)]))


@dataclass(frozen=True)
class Circumstances:
    """A usage profile as the rules read it. None: not stated (a threshold rule cannot judge)."""

    mau: int | None = None
    revenue_usd: int | None = None
    commercial: bool = True
    deployments: frozenset[str] = frozenset()
    trains_on_outputs: bool = False
    based_in: frozenset[str] = frozenset()
    offered_in: frozenset[str] = frozenset()
    fine_tunes: bool = False
    publishes_derivatives: bool = False
    domains: frozenset[str] = frozenset()
    licenses_held: frozenset[str] = frozenset()

    @property
    def distributes(self) -> bool:
        """Makes the model, or something containing it, available to others."""
        return bool(self.deployments - {"internal"}) or self.publishes_derivatives

    def in_region(self, regions: frozenset[str], *, where: str = "based_in") -> bool:
        have = getattr(self, where)
        if "WORLD" in have:
            return True
        eu = "EU" in regions and bool(have & (EU_MEMBERS | {"EU"}))
        return eu or bool(have & regions)


@dataclass(frozen=True)
class ModelFacts:
    """What of the model itself a rule reads. multimodal None: not known."""

    multimodal: bool | None = None


@dataclass(frozen=True)
class Finding:
    code: str
    outcome: str
    text: str
    license: str
    clause: str = ""  # "§2: “quote”" or the license's decisive clause

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "license": self.license, "text": self.text,
                "clause": self.clause}  # fmt: skip


# (license key, code) -> (section, quote, reference text in licenses/data/texts).
_MAU_LLAMA = "is greater than 700 million monthly active users in the preceding calendar month, you must request a license from Meta"  # fmt: skip
_OUTPUTS_LLAMA = "to improve any other large language model"
_EU_LLAMA = "the rights granted under Section 1(a) of the Llama {v} Community License Agreement are not being granted to you if you are an individual domiciled in, or a company with a principal place of business in, the European Union"  # fmt: skip
_AUP_LLAMA = "adhere to the Acceptable Use Policy for the Llama Materials"
QUOTES: dict[tuple[str, str], tuple[str, str, str]] = {
    **{(k, "mau_700m"): ("§2", _MAU_LLAMA, f"{k}__LICENSE.txt")
       for k in ("llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4")},
    **{(k, "aup"): ("§1.b.iv", _AUP_LLAMA, f"{k}__LICENSE.txt")
       for k in ("llama2", "llama3", "llama3.1", "llama3.2", "llama3.3")},
    ("llama2", "no_output_training"): ("§1.b.v", _OUTPUTS_LLAMA, "llama2__LICENSE.txt"),
    ("llama3", "no_output_training"): ("§1.b.v", _OUTPUTS_LLAMA, "llama3__LICENSE.txt"),
    **{(k, "eu_restriction"): ("use policy", _EU_LLAMA.format(v=v), f"{k}__USE_POLICY.md")
       for k, v in (("llama3.2", "3.2"), ("llama3.3", "3.3"), ("llama4", "4"))},
    ("tongyi-qianwen", "mau_100m"): (
        "§4.a", "your product or service has more than 100 million monthly active users, You "
        "shall request a license from Us", "tongyi-qianwen__LICENSE_AGREEMENT.txt"),
    ("tongyi-qianwen", "no_output_training"): (
        "§5.b", "You can not use the Materials or any output therefrom to improve any other "
        "large language model", "tongyi-qianwen__LICENSE_AGREEMENT.txt"),
}  # fmt: skip


def clause_of(key: str, code: str) -> str:
    """Where the license says it, quoted: this rule's quote, else the license's obligation
    clause for the code, else its decisive clause."""
    if found := QUOTES.get((key, code)):
        section, quote, _ = found
        return f"{section}: “{quote}”"
    entry = kb().get(key)
    if entry is None:
        return ""
    for ob in entry.data.get("obligations", []):
        if ob.get("code") == code and ob.get("quote"):
            return f"{ob.get('clause', '')}: “{ob['quote']}”".lstrip(": ")
    return str(entry.data.get("clause", ""))


Rule = Callable[[Circumstances, ModelFacts, str], tuple[str, str] | None]
_NUMBER = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)")


def _line(value: str) -> int | None:
    found = _NUMBER.search(value or "")
    return int(found.group(1).replace(",", "")) if found else None


def _threshold(field_name: str, what: str, *, inclusive: bool) -> Rule:
    def rule(c: Circumstances, m: ModelFacts, value: str) -> tuple[str, str] | None:
        line = _line(value)
        have = getattr(c, field_name)
        if line is None or (what == "revenue" and not value.upper().startswith("USD")):
            return REVIEW, f"a {what} line Canopy cannot compare ({value or 'not stated'})"
        if have is None:
            return REVIEW, f"the profile states no {what}; the line is {value}"
        over = have >= line if inclusive else have > line
        if over:
            where = "at or above" if inclusive else "above"
            stated = f"USD {have:,} annual revenue" if what == "revenue" else f"{have:,} {what}"
            return BLOCK, f"the profile states {stated}, {where} the line of {value}"
        return None

    return rule


def _always(outcome: str, text: str) -> Rule:
    return lambda c, m, v: (outcome, text + (f" ({v})" if v else ""))


def _when(test: Callable[[Circumstances, ModelFacts], bool], outcome: str, text: str) -> Rule:
    return lambda c, m, v: (outcome, text + (f" ({v})" if v else "")) if test(c, m) else None


def _use_policy(obligation: str) -> Rule:
    def rule(c: Circumstances, m: ModelFacts, value: str) -> tuple[str, str]:
        if c.domains:
            named = ", ".join(DOMAINS.get(d, d) for d in sorted(c.domains))
            return REVIEW, f"the profile serves {named}, which the policy names: {obligation}"
        return OBLIGE, obligation + (f" ({value})" if value else "")

    return rule


def _territory(c: Circumstances, m: ModelFacts, value: str) -> tuple[str, str] | None:
    named = {REGION_NAMES.get(p.strip().lower()) for p in value.split(",")}
    if not value or None in named:
        return REVIEW, f"territories Canopy cannot read ({value or 'not stated'})"
    regions = frozenset(r for r in named if r)
    if not c.based_in and not c.offered_in:
        return REVIEW, f"the profile states no region; the license is void in {value}"
    if c.in_region(regions) or c.in_region(regions, where="offered_in"):
        return BLOCK, f"the license is void in {value}, where the profile is based or offered"
    return None


def _eu(c: Circumstances, m: ModelFacts, value: str) -> tuple[str, str] | None:
    if not c.based_in:
        return REVIEW, "the profile states no home region; multimodal rights exclude the EU"
    if not c.in_region(frozenset({"EU"})):
        return None
    if m.multimodal is None:
        return REVIEW, "based in the EU, and whether this model is multimodal is not known"
    if m.multimodal:
        return BLOCK, "a multimodal model, and the profile's organisation is based in the EU"
    return None


def _commercial(text: str) -> Rule:
    return lambda c, m, v: (BLOCK, text) if c.commercial else None


def _obligation(test: Callable[[Circumstances], bool], text: str) -> Rule:
    return lambda c, m, v: (OBLIGE, text + (f": {v}" if v else "")) if test(c) else None


RULES: dict[str, Rule] = {
    "mau_700m": _threshold("mau", "monthly active users", inclusive=True),
    "mau_100m": _threshold("mau", "monthly active users", inclusive=False),
    "mau_10m": _threshold("mau", "monthly active users", inclusive=False),
    "mau_1m": _threshold("mau", "monthly active users", inclusive=False),
    "usage_threshold": _always(REVIEW, "a usage line measured in terms no profile states"),
    "revenue_1m": _threshold("revenue_usd", "revenue", inclusive=False),
    "revenue_10m": _threshold("revenue_usd", "revenue", inclusive=True),  # LTXV: "at least"
    "revenue_threshold": _threshold("revenue_usd", "revenue", inclusive=False),
    "royalty": _always(REVIEW, "royalties may be due above a revenue line"),
    "aup": _use_policy("follow the acceptable use policy and pass it on"),
    "use_restrictions": _use_policy("pass the use restrictions on as an enforceable provision"),
    "no_output_training": _when(lambda c, m: c.trains_on_outputs, BLOCK,
                                "the profile trains other models on outputs"),
    "distillation_inherit": _when(lambda c, m: c.trains_on_outputs, OBLIGE,
                                  "models trained on its outputs carry its terms"),
    "outputs_restricted": _commercial("outputs carry the same purpose limit: no commercial use"),
    "research_only": _commercial("research use only, and the profile's use is commercial"),
    "non_commercial": _commercial("non-commercial use only, and the profile's use is commercial"),
    "non_production": _commercial("no production use, and the profile's use is commercial"),
    "no_derivatives": _when(lambda c, m: c.publishes_derivatives, BLOCK,
                            "adapted versions may not be shared, and the profile publishes them"),
    "eu_restriction": _eu,
    "territory_restriction": _territory,
    "hosting_restricted": _when(lambda c, m: "hosted" in c.deployments, REVIEW,
                                "hosted use is barred or needs a separate license"),
    "military_ban": lambda c, m, v: (BLOCK, "no military use, and the profile serves military "
                                     "or defence") if "military" in c.domains
                    else (OBLIGE, "no military use"),
    "competitor_restriction": _always(REVIEW, "rights are withheld from the licensor's competitors"),
    "clinical_authorization": _when(lambda c, m: "medical" in c.domains, REVIEW,
                                    "clinical use needs a health regulator's authorization"),
    "registration_required": _when(lambda c, m: c.commercial, OBLIGE,
                                   "register with the licensor before commercial use"),
    "attribution": _obligation(lambda c: c.distributes, "show the attribution"),
    "naming": _obligation(lambda c: c.publishes_derivatives, "name published derivatives"),
    "notice_file": _obligation(lambda c: c.distributes, "ship the Notice"),
    "license_copy": _obligation(lambda c: c.distributes, "pass on a copy of the license"),
    "modification_notice": _obligation(lambda c: c.publishes_derivatives,
                                       "mark modified versions as modified"),
    "share_alike": _obligation(lambda c: c.distributes, "share derivatives under the same terms"),
    "network_copyleft": _obligation(lambda c: "hosted" in c.deployments,
                                    "offer the source to network users"),
    "derivatives_inherit": _obligation(lambda c: c.publishes_derivatives,
                                       "published derivatives carry the same terms"),
    **{code: _always(RISK, condition_label(code)) for code in (
        "revocable", "terms_updatable", "guardrail_termination", "patent_termination",
        "foreign_law", "no_patent_grant")},
}  # fmt: skip
# Lines a license held separately lifts (UsageProfile.licenses_held).
LIFTED_BY_LICENSE = frozenset(
    {"mau_700m", "mau_100m", "mau_10m", "mau_1m", "usage_threshold", "revenue_1m",
     "revenue_10m", "revenue_threshold", "royalty", "hosting_restricted"}
)  # fmt: skip


@dataclass
class Judgement:
    findings: list[Finding] = field(default_factory=list)

    def of(self, outcome: str) -> list[Finding]:
        return [f for f in self.findings if f.outcome == outcome]


def judge(key: str, c: Circumstances, m: ModelFacts | None = None) -> list[Finding]:
    """The findings of one license (a knowledge-base key) for these circumstances."""
    m = m or ModelFacts()
    entry = kb().get(key)
    if entry is None or entry.verdict == UNKNOWN or entry.placeholder:
        name = entry.name if entry else key
        return [Finding("unknown_terms", REVIEW, f"the terms of {name} are not known", key)]
    out = []
    if not entry.verified:
        out.append(Finding("unverified", REVIEW, f"{entry.name} is not verified from its text",
                           key, str(entry.data.get("source", ""))))  # fmt: skip
    for code, value in entry.conditions:
        rule = RULES.get(code)
        got = (
            (REVIEW, f"no rule reads “{condition_label(code)}”")
            if rule is None
            else rule(c, m, value)
        )
        if got is None:
            continue
        outcome, text = got
        if outcome in (BLOCK, REVIEW) and code in LIFTED_BY_LICENSE and key in c.licenses_held:
            outcome, text = OBLIGE, f"held separately: {text}"
        out.append(Finding(code, outcome, text, key, clause_of(key, code)))
    if entry.verdict == PROHIBITED and c.commercial and not any(f.outcome == BLOCK for f in out):
        out.append(Finding("prohibited", BLOCK, f"{entry.name} does not allow commercial use",
                           key, clause_of(key, "")))  # fmt: skip
    return out

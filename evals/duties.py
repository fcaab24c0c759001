"""Derivatives' obligations (licenses/compliance.py) against the labels of Stalnaker et al.'s
1,463 lineage chains (the lineage-chains cases of evals/cases.jsonl): `llama_naming_issue` and
`missing_llama_license`, agreement per label, every disagreement put in words and counted.

A chain is ours for a label when one of its derivatives fails the check: naming (the name must
begin with the words a Llama license fixes) or terms carried on (its own declared license is not
of the inherited Llama license's family). The chains hold names and declared licenses only, so
those two are the checks that can be decided; attribution and a license copy need the README
and file list, which the chains do not have.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from evals.run import load_cases

LABELS = {"llama_naming_issue": "naming", "missing_llama_license": "derivatives_inherit"}


def _keys(lics: list[str]) -> str | None:
    from licenses.resolve import resolve

    return resolve(tags=[f"license:{v}" for v in lics]).key


def _failures(chain: list[list[Any]]) -> dict[str, list[str]]:
    """{check code: the derivatives failing it, with why} over the chain's derivatives."""
    from licenses import compliance
    from licenses.classify import classify

    out: dict[str, list[str]] = defaultdict(list)
    inherited: set[str] = set()
    for i, (model, lics) in enumerate(chain):
        key = _keys(lics)
        if i:
            f = compliance.facts(model, None, None)
            for c in compliance.check(f, key, inherited):
                if c["met"] is False and c["license"].startswith("llama"):
                    out[c["code"]].append(f"{model}: {c['detail']}")
        if key and classify(key)[0] != "unknown":
            inherited.add(key)
    return out


def _why(code: str, study: bool, chain: list[list[Any]], fails: list[str]) -> str:
    """A disagreement in words: the rule that makes the two readings differ."""
    upstream = {k for _, lics in chain[:-1] if (k := _keys(lics))}  # what a derivative inherits
    llama = sorted(k for k in upstream if k.startswith("llama"))
    if study and not llama:
        return (
            "no Llama license upstream of a derivative: a Llama-named or -shaped model "
            "licensed otherwise, whose terms bind nothing"
        )
    if code == "naming" and study and all(k in ("llama2", "llama-1") for k in llama):
        return "Llama 2's license sets no naming duty: only Llama 3's and later do"
    if code == "naming" and study:
        return "every derivative's name begins with the license's words"
    if code == "naming":
        name = fails[0].split(": ")[0].rsplit("/", 1)[-1].lower()
        if "llama" in name:
            return (
                "the name holds 'llama' but not at its beginning, where the license puts "
                "its words: " + fails[0]
            )
        return "the name does not hold the license's words: " + fails[0]
    if study:
        return "every derivative declares a license of the Llama family"
    if "declares no license" in fails[0]:
        return (
            "a derivative declares no license, so the Llama terms are not carried on: " + fails[0]
        )
    return "a derivative declares another license: " + fails[0]


def report(show: int = 3) -> None:
    cases = [c for c in load_cases() if c["category"] == "lineage-chains"]
    print(f"\nderivatives' obligations vs the study's labels ({len(cases)} chains)")
    print(f"{'label':28} {'study':>6} {'ours':>6} {'both':>6} {'agree':>7}")
    reasons: dict[str, Counter[str]] = defaultdict(Counter)
    examples: dict[tuple[str, str], list[str]] = defaultdict(list)
    for label, code in LABELS.items():
        n = study_n = ours_n = both = agree = 0
        for case in cases:
            fails = _failures(case["chain"]).get(code, [])
            study, ours = label in case.get("labels", []), bool(fails)
            n += 1
            study_n += study
            ours_n += ours
            both += study and ours
            agree += study == ours
            if study != ours:
                why = _why(code, study, case["chain"], fails)
                side = "study only" if study else "ours only"
                key = f"{side}: {why.split(': ')[0]}"
                reasons[label][key] += 1
                who = fails[0].split(": ")[0] if fails else case["id"]  # the one failing, if ours
                if len(examples[(label, key)]) < show and who not in examples[(label, key)]:
                    examples[(label, key)].append(who)
        print(f"{label:28} {study_n:6} {ours_n:6} {both:6} {agree / n:7.3f}")
    for label, counts in reasons.items():
        print(f"  disagreements on {label}:")
        for why, k in counts.most_common():
            print(f"    {k:5}  {why}  e.g. {', '.join(examples[(label, why)])}")

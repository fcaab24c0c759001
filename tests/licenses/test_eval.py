"""`make eval` as a test: accuracy per category on the real cases, with its bar: no model called
`allowed` that should not be, no case the evidence decides left `unknown`, and 95% correct."""

from evals.run import evaluate, load_cases


def test_accuracy_on_real_cases_meets_the_bar():
    stats = evaluate(load_cases())
    assert set(stats) == {
        "hacktoberfest-other",
        "hacktoberfest-no-license",
        "card-variants",
        "reference-texts",
        "lineage-chains",
    }
    for category, s in stats.items():
        assert s["false_allowed"] == 0, (category, s["failures"][:5])
        assert s["decidable_unknown"] == 0, (category, s["failures"][:5])
        assert s["correct"] / s["cases"] >= 0.95, (category, s["failures"][:5])

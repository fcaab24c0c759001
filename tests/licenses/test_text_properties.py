"""Hub text through license resolution: names, links, README sections, license texts. Any text
raises nothing, adversarial text costs in proportion to its length, and the linear rewrites read
normal text as the old patterns did."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licenses import classify, resolve, similarity
from tests.adversarial import GROWTH_BOUND, UNITS, growth, strategies

ANY_TEXT, ADVERSARIAL = strategies()


def _resolve(s):
    return resolve.resolve(
        repo_id="a/b",
        tags=["license:" + s, s],
        card={"license": [s, "mit"], "license_name": s, "license_link": s,
              "extra_gated_prompt": s, "base_model": s},
        files={"README.md": s, "LICENSE": s, "USE_POLICY.md": "# License\n" + s, "LICENSE-" + s: s},
        linked={s: s},
    )  # fmt: skip


CALLS = {
    "normalise_name": classify.normalise_name,
    "from_name": resolve.from_name,
    "link_target": lambda s: resolve.link_target(s, "a/b"),
    "link_target-url": lambda s: resolve.link_target("https://huggingface.co/" + s, "a/b"),
    "from_link": resolve.from_link,
    "readme_section": resolve.readme_section,
    "readme_section-after-heading": lambda s: resolve.readme_section("# License\n" + s),
    "mentioned": resolve.mentioned,
    "best_match": similarity.best_match,
    "resolve": _resolve,
    "resolve-url-link": lambda s: _resolve("https://nvidia.com/" + s),
}


@pytest.mark.parametrize("call", CALLS)
@given(s=st.one_of(ANY_TEXT, ADVERSARIAL))
def test_any_text_raises_nothing(call, s):
    CALLS[call](s)


@given(s=st.one_of(ANY_TEXT, ADVERSARIAL))
def test_a_resolution_is_well_formed_whatever_the_text(s):
    res = _resolve(s)
    assert res.key is None or res.key in classify.kb().entries
    assert 0.0 <= res.confidence <= 1.0
    assert all(len(e["value"]) <= 201 for e in res.evidence if isinstance(e["value"], str))


@pytest.mark.parametrize("kind", UNITS)
@pytest.mark.parametrize("call", CALLS)
def test_adversarial_text_costs_in_proportion_to_its_length(call, kind):
    cpu, times = growth(CALLS[call], kind)
    print(f"{call} on 1 MB of {kind}: {cpu * 1000:.1f} ms CPU, {times:.1f} times an eighth's")
    assert times < GROWTH_BOUND


def test_a_license_section_past_the_scanned_part_of_a_readme_is_not_read():
    near = "# Model\n\n## License\nApache License 2.0\n"
    far = "# Model\n\n" + "prose\n" * (resolve.README_SCAN // 6) + "## License\nMIT\n"
    assert "Apache License 2.0" in resolve.readme_section(near)
    assert resolve.readme_section(far) == ""


def test_an_overlong_link_is_not_recognised():
    known = "ai.meta.com/llama/license"
    assert resolve.from_link(known) == "llama2"
    assert resolve.from_link(known + "/" + "x" * resolve.LINK_MAX) is None


# The old patterns, quadratic but right, as references on small inputs.
OLD_SECTION = re.compile(
    r"^#{1,6}\s*[^\n]*\blicen[cs](e|ing)\b[^\n]*\n(?P<body>.*?)(?=^#{1,6}\s|\Z)",
    re.IGNORECASE | re.MULTILINE | re.DOTALL,
)
OLD_NOISE = re.compile(r"^\s*(copyright|\(c\)|©).*$", re.IGNORECASE | re.MULTILINE)


def _old_normalise(value):
    name = re.sub(r"[\s_]+", "-", value.strip().lower()).strip("-")
    changed = True
    while changed:
        changed = False
        for suffix in classify.SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix):
                name, changed = name[: -len(suffix)], True
    return name


def _pieces(*pieces):
    return st.lists(st.sampled_from(pieces), max_size=25).map("".join)


READMEISH = _pieces("#", "## ", "# ", " ", "\t", "\n", "\n\n", "license", "Licence", "licensing",
                    "unlicensed", "-", "text ", "mit", "MIT License", "\x0b", "\u2028")  # fmt: skip
NAMEISH = _pieces("-license", "-licence", "-agreement", "-terms-of-use", "_", " ", "-", "llama",
                  "License", "AGREEMENT", "\t", "mit")  # fmt: skip
LICENSEISH = _pieces("\n", " ", "\t", "  ", "Copyright 2024 A", "(c) B", "© C", "copyright",
                     "Permission is hereby granted", "free of charge", "MIT", "\r\n", "\x0c")  # fmt: skip


@settings(max_examples=300)
@given(s=READMEISH)
def test_license_sections_are_the_old_patterns(s):
    old = OLD_SECTION.search(s)
    new = resolve.README_SECTION.search(s)
    assert (new and (new.start(), new.end(), new.group("body"))) == (
        old and (old.start(), old.end(), old.group("body"))
    )


@settings(max_examples=300)
@given(s=NAMEISH)
def test_license_names_normalise_as_before(s):
    assert classify.normalise_name(s) == _old_normalise(s)


@settings(max_examples=300)
@given(s=LICENSEISH)
def test_license_text_tokens_are_the_old_ones(s):
    old = OLD_NOISE.sub(" ", s).lower()
    assert similarity.tokens(s) == similarity.WORD.findall(old)

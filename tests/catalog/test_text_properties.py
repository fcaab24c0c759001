"""Hub text through the catalog's parsers: any text raises nothing, adversarial text costs in
proportion to its length, and the linear rewrites read normal text as the old patterns did."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog import cards, hardware, lineage, records
from tests.adversarial import GROWTH_BOUND, UNITS, growth, strategies

ANY_TEXT, ADVERSARIAL = strategies()


def _estimate(s):
    return hardware.estimate(
        repo_id="a/" + s, parameter_count=None, tags=[s], library=s, formats=[s]
    )


def _edges(s):
    return lineage.edges_for(
        repo_id="a/" + s,
        tags=["base_model:" + s, "base_model:quantized:" + s, s],
        library=s,
        files=[s, s + ".gguf", "adapter_config.json"],
        card={"base_model": [s, "x/" + s], "base_model_relation": s},
        base_models={"models": [{"id": s}], "relation": s},
    )


CALLS = {
    "summary": cards.summary,
    "summary-after-prose": lambda s: cards.summary("Some prose first " + s),
    "render": cards.render,
    "front-matter": lambda s: cards.strip_front_matter("---\n" + s),
    "hardware": _estimate,
    "params-from-name": lambda s: hardware.params_from_name("a/x-" + s),
    "lineage": _edges,
    "quant-from-name": lambda s: lineage.infer_relation(
        repo_id="a/x." + s, tags=[s], library=s, files=[s], n_parents=1
    ),
    "formats": lambda s: records.formats([s, "gguf"], [s, s + ".safetensors"], s),
}


@pytest.mark.parametrize("call", CALLS)
@given(s=st.one_of(ANY_TEXT, ADVERSARIAL))
def test_any_text_raises_nothing(call, s):
    CALLS[call](s)


@given(s=st.one_of(ANY_TEXT, ADVERSARIAL))
def test_a_summary_is_short_plain_text_and_a_render_is_sanitized(s):
    summary = cards.summary(s)
    assert isinstance(summary, str) and len(summary) <= 300
    html = cards.render(s)
    assert "<script" not in html.lower() and not cards.SURROGATE.search(html)


@pytest.mark.parametrize("kind", UNITS)
@pytest.mark.parametrize("call", CALLS)
def test_adversarial_text_costs_in_proportion_to_its_length(call, kind):
    cpu, times = growth(CALLS[call], kind)
    print(f"{call} on 1 MB of {kind}: {cpu * 1000:.1f} ms CPU, {times:.1f} times an eighth's")
    assert times < GROWTH_BOUND


def test_the_growth_check_tells_a_quadratic_pattern_from_a_linear_one():
    quadratic = re.compile(r"\[([^\]]*)\]\(")  # backtracks over every opened bracket
    linear = re.compile(r"\[")
    assert growth(lambda s: quadratic.sub("", s), "open-brackets", 16_000)[1] > GROWTH_BOUND
    assert growth(lambda s: [linear.sub("", s) for _ in range(20)], "open-brackets")[1] < 12


def test_a_long_card_renders_its_first_part_and_says_so():
    card = "---\nlicense: mit\n---\n" + "A line of prose.\n\n" * 100_000
    html = cards.render(card)
    assert html.count("<p>A line of prose.</p>") < 2_000
    assert "This card is 1,800,000 characters long; the first 31,985 are shown." in html


def test_a_lone_surrogate_renders_as_a_replacement_character():
    assert cards.render("broken \ud800 byte") == "<p>broken \ufffd byte</p>\n"


# The old patterns, quadratic but right, as references on small inputs.
OLD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
OLD_FRONT_MATTER = re.compile(r"\A---\s*\n.*?\n---\s*(?:\n|\Z)", re.DOTALL)


def _old_summary(text, limit=300):
    for block in re.split(r"\n\s*\n", OLD_FRONT_MATTER.sub("", text, count=1)):
        block = block.strip()
        if not block or block[0] in "#<|!>`-*=[" or block.startswith("```"):
            continue
        plain = " ".join(re.sub(r"[*_`]+", "", OLD_LINK.sub(r"\1", block)).split())
        if len(plain) >= 20:
            return plain[:limit]
    return ""


LINKISH = st.text(st.sampled_from(["[", "]", "(", ")", "a", " ", "\n"]), max_size=60)
FRONTISH = st.lists(
    st.sampled_from(["---", "-", "\n", " ", "\t", "\r", "\x0b", "a", "b: c"]), max_size=20
).map("".join)
CARDISH = st.lists(
    st.sampled_from(
        ["---\n", "license: mit\n", "\n", "\n\n", " ", "# Title\n", "Some prose about a model ",
         "[a link](https://x.org)", "**bold** ", "`code` ", "```\ncode\n```\n", "[", "]", "(",
         ")", "- item\n", "<b>html</b>", "| a | b |\n", "_em_ ", "![img](x.png) "]
    ),
    max_size=25,
).map("".join)  # fmt: skip


@settings(max_examples=300)
@given(s=LINKISH)
def test_links_are_stripped_as_the_old_pattern_stripped_them(s):
    assert cards._strip_links(s) == OLD_LINK.sub(r"\1", s)


@settings(max_examples=300)
@given(s=FRONTISH)
def test_the_front_matter_is_the_old_patterns_up_to_blank_lines_after_it(s):
    new, old = cards.strip_front_matter(s), OLD_FRONT_MATTER.sub("", s, count=1)
    # The old pattern also took the blank lines after the closing `---`; Markdown ignores them.
    assert new.endswith(old) and not new[: len(new) - len(old)].strip()


@settings(max_examples=300)
@given(s=CARDISH)
def test_summaries_of_card_like_text_are_the_old_ones(s):
    assert cards.summary(s) == _old_summary(s)


@pytest.mark.parametrize(
    "repo_id, quant",
    [
        ("TheBloke/Llama-2-7B-GGUF", "Q4_K_M?"),
        ("turboderp/Llama-3-8B-exl2-" + "9" * 10 + ".5bpw", "EXL2 9999999999.5bpw"),
        ("a/x-" + "1" * 200 + "-Q5_K_S", "16-bit"),  # past the Hub's 96 characters
    ],
)
def test_names_are_read_to_the_hubs_length_limit(repo_id, quant):
    formats = ["gguf"] if "GGUF" in repo_id else []
    assert hardware.quantization(repo_id, [], "", formats)[0] == quant
    assert len(records.repo_name("a/" + "b" * 1_000)) == records.REPO_NAME_MAX

"""Resolution of a model's license from its evidence (pure functions over real card shapes)."""

import re

import pytest

from licenses import resolve as resolution
from licenses import similarity
from licenses.classify import DATA, classify
from licenses.resolve import resolve

TEXTS = DATA / "texts"


def text(name):
    return (TEXTS / name).read_text(encoding="utf-8")


def test_a_specific_tag_decides():
    r = resolve(tags=["license:llama2"])
    assert r.key == "llama2" and r.confidence >= 0.9
    assert r.evidence == [{"source": "tag", "value": "llama2", "key": "llama2"}]


def test_several_license_tags_keep_the_most_restrictive_and_say_so():
    r = resolve(tags=["license:apache-2.0", "license:cc-by-nc-4.0"])
    assert r.key == "cc-by-nc-4.0" and r.mismatch and r.confidence < 0.7
    assert {e["key"] for e in r.evidence} == {"apache-2.0", "cc-by-nc-4.0"}


def test_a_list_valued_card_license():
    r = resolve(card={"license": ["mit", "openrail"]})
    assert r.key == "mit"  # the family tag refines nothing here; mit is the specific one
    r = resolve(card={"license": ["cc-by-4.0", "cc-by-sa-4.0"]})
    assert r.key in ("cc-by-4.0", "cc-by-sa-4.0") and r.mismatch


def test_license_name_variants_are_normalised():
    # Real strings from hub-rich cards and the Hacktoberfest suggestions (the variants listed in
    # the shared research, ../shared/docs/licenses.md §4.2, outside the repository).
    cases = {
        "llama-2-community-license": "llama2",
        "llama-license": "llama-1",
        "meta-llama-3-community-license-agreement": "llama3",
        "llama-3": "llama3",
        "llama3": "llama3",
        "llama4": "llama4",
        "gemma-terms-of-use": "gemma",
        "tongyi-qianwen-license-agreement": "tongyi-qianwen",
        "tongyi-qianwen-research": "tongyi-qianwen-research",
        "deepseek-license": "deepseek",
        "stabilityai-ai-community": "stabilityai-ai-community",
        "sai-nc-community": "stabilityai-nc-research-community",
        "flux-1-dev-non-commercial-license": "flux-1-dev-non-commercial-license",
        "nvidia-open-model-license": "nvidia-open-model-license",
        "exaone": "exaone",
        "falcon-mamba-7b-license": "falcon-llm-license",
        "mrl": "mrl",
        "mnpl": "mnpl",
        "intel-research-use-license": "intel-research",
        "apple-sample-code-license": "apple-ascl",
        "owkin-non-commercial": "other-non-commercial",
    }
    for name, key in cases.items():
        assert resolve(card={"license": "other", "license_name": name}).key == key, name


def test_license_link_patterns():
    cases = {
        "https://mistral.ai/licenses/MRL-0.1.md": "mrl",
        "https://mistral.ai/licences/MNPL-0.1.md": "mnpl",
        "https://ai.google.dev/gemma/terms": "gemma",
        "https://falconllm.tii.ae/falcon-mamba-7b-terms-and-conditions.html": "falcon-llm-license",
        "https://github.com/deepseek-ai/DeepSeek-V2/blob/main/LICENSE-MODEL": "deepseek",
        "https://llama.meta.com/llama3/license/": "llama3",
        "https://huggingface.co/meta-llama/Meta-Llama-3-8B-Instruct/raw/main/LICENSE": "llama3",
        "https://github.com/QwenLM/Qwen/blob/main/Tongyi%20Qianwen%20LICENSE%20AGREEMENT": "tongyi-qianwen",  # noqa: E501
        "https://developer.download.nvidia.com/licenses/nvidia-open-model-license-agreement-june-2024.pdf": "nvidia-open-model-license",  # noqa: E501
        "https://creativecommons.org/licenses/by-nc/4.0/": "cc-by-nc-4.0",
    }
    for link, key in cases.items():
        assert resolve(card={"license": "other", "license_link": link}).key == key, link


def test_a_link_to_a_file_of_the_repo_reads_that_file():
    r = resolve(
        repo_id="a/b",
        card={"license": "other", "license_link": "LICENSE.md"},
        files={"LICENSE.md": text("flux-1-dev-non-commercial__LICENSE.txt")},
    )
    assert r.key == "flux-1-dev-non-commercial-license"
    assert any(e["source"] == "file:LICENSE.md" and e["score"] > 0.9 for e in r.evidence)
    r = resolve(
        repo_id="a/b",
        card={"license_link": "https://huggingface.co/a/b/blob/main/LICENSE"},
        files={"LICENSE": text("exaone__LICENSE.txt")},
    )
    assert r.key == "exaone"


def test_a_link_to_another_repos_file_reads_it_when_crawled():
    # A real case (../shared/docs/licenses.md §4.4 (2)): a LoRA names tongyi-qianwen but links
    # Qwen2.5's LICENSE, Apache-2.0.
    card = {
        "license": "other",
        "license_name": "tongyi-qianwen",
        "license_link": "https://huggingface.co/Qwen/Qwen2.5-7B-Instruct/blob/main/LICENSE",
    }
    r = resolve(
        repo_id="x/lora",
        card=card,
        linked={"Qwen/Qwen2.5-7B-Instruct/LICENSE": text("apache-2.0__LICENSE.txt")},
    )
    assert r.key == "apache-2.0" and r.mismatch


def test_license_file_text_is_matched_with_a_score_after_edits():
    original = text("llama2__LICENSE.txt")
    edited = re.sub(r"\s+", "  \n ", original)  # every line rewrapped
    edited = edited.replace("Meta Platforms", "Meta Platforms Inc", 3).replace(
        "Agreement", "agreement"
    )
    edited = "Copyright (c) 2024 Someone\n" + edited[: len(edited) * 9 // 10]  # and cut short
    exact = similarity.best_match(original)
    fuzzy = similarity.best_match(edited)
    assert exact.key == fuzzy.key == "llama2"
    assert exact.score > 0.98 and 0.7 < fuzzy.score < exact.score
    r = resolve(files={"LICENSE.txt": edited})
    assert r.key == "llama2" and r.evidence[0]["score"] == fuzzy.score


def test_versions_of_one_family_are_told_apart():
    for version in ("llama3", "llama3.1", "llama3.2", "llama3.3", "llama4"):
        assert similarity.best_match(text(f"{version}__LICENSE.txt")).key == version
        assert similarity.best_match(text(f"{version}__USE_POLICY.md")).key == version


def test_an_unrelated_text_matches_nothing():
    assert similarity.best_match("This model card describes a sentiment classifier. " * 40) is None


def test_card_and_file_disagree_the_file_wins_and_the_mismatch_is_flagged():
    # A real case (../shared/docs/licenses.md §4.4 (1)): the card says sai-nc-community, the
    # LICENSE.md is another license.
    r = resolve(
        card={"license": "other", "license_name": "sai-nc-community"},
        files={"LICENSE.md": text("tongyi-qianwen__LICENSE_AGREEMENT.txt")},
    )
    assert r.key == "tongyi-qianwen" and r.mismatch
    assert any("wins" in n for n in r.notes)
    r = resolve(tags=["license:mit"], files={"LICENSE": text("mit__LICENSE.txt")})
    assert r.key == "mit" and not r.mismatch and r.confidence > 0.95


def test_the_readme_license_section_comes_last():
    readme = (
        "---\ntags: [x]\n---\n# Model\n\n## License\n\nThe weights are released under the "
        "Creative Commons Attribution Non Commercial 4.0 license.\n\n## Usage\nMIT code\n"
    )
    r = resolve(files={"README.md": readme})
    assert r.key == "cc-by-nc-4.0" and r.confidence < 0.7
    assert resolve(tags=["license:apache-2.0"], files={"README.md": readme}).mismatch


def test_a_license_label_paragraph_is_read_and_its_link_named():
    # TheBloke's Llama 2 copies (license: other) say so under no heading: a "**License**" label
    # and Meta's download URL (issue 13, item 5).
    readme = (
        "---\nlicense: other\n---\n# Llama 2 7B Chat - GGML\n\n**License** A custom commercial "
        "license is available at: [https://ai.meta.com/resources/models-and-libraries/llama-"
        "downloads/](https://ai.meta.com/resources/models-and-libraries/llama-downloads/)\n"
    )
    r = resolve(tags=["license:other"], files={"README.md": readme})
    assert r.key == "llama2" and r.confidence < 0.7
    item = next(e for e in r.evidence if e["source"] == "readme")
    assert item["key"] == "llama2" and "links to the license of llama2" in item["note"]
    # A word that only starts with "license" is not a label.
    assert resolution.readme_section("Licensed under the terms below.\n") == ""


@pytest.mark.parametrize(
    "readme",
    [
        "---\nlicense: apache-2.0\nbase_model: meta-llama/Llama-2-7b-chat-hf\n---",
        "\ufeff---\r\nlicense: apache-2.0\r\n---\r\n",
        "---\nlicense: apache-2.0\n---\n\nA chatbot.\n",
    ],
)
def test_the_yaml_header_is_not_readme_prose(readme):
    # A real README that is only its header (Arjs/Llama-2-7b-chatbot-finetune) was once read as
    # a "license: apache-2.0" label paragraph: the card field counted twice.
    assert resolution.readme_section(readme) == ""


def test_nothing_recognisable_is_unknown_never_allowed():
    # Issue 13: `other` is not none. A bare `other` or `unknown` is what was declared (and
    # classifies as unknown, for review); None is for nothing declared.
    assert resolve().key is None
    assert resolve(tags=["license:other"]).key == "other"
    r = resolve(card={"license": "other", "license_name": "arsonai", "license_link": "LICENSE"})
    assert r.key == "other" and r.confidence < resolution.REVIEW_BELOW
    assert resolve(tags=["license:unknown"]).key == "unknown"
    for declared in ("other", "unknown"):
        assert classify(resolve(tags=[f"license:{declared}"]).key)[0] == "unknown"


@pytest.mark.parametrize("link", ["https://[abc/LICENSE", "a://[", "http://x]/y", "www.[bad"])
def test_a_link_urlsplit_refuses_is_an_unknown_url_not_an_error(link):
    # Found by the text property tests in CI: an unclosed `[` in a host raised ValueError.
    kind, _ = resolution.link_target(link, "org/model")
    assert kind == "url"
    assert resolution.from_link(resolution._hostpath(link)) is None
    assert resolve(card={"license": "other", "license_link": link}).key in (None, "other")

"""Suspected bases (issue 13, item 7): a model naming no base that is a family's by its name,
tags, config or tokenizer carries a suspicion, shown with its signals; it sends the model (and
what derives from it) to review when it would bind them to stricter terms, never changes the
verdict, and a legal reviewer's determination confirms or dismisses it.

Real records (tests/fixtures/suspects.jsonl.gz, cut by make_lineage.py), crawled as
`crawl --sync` does; the detector's own cases read the real names and configs of the issue."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.models import HubModel
from licenses import assessment, suspects
from licenses.models import ModelLicense
from tests.conftest import crawled_once, role

UNSLOTH = "unsloth/llama-3-8b-Instruct-bnb-4bit"
CHILD = "BarraHome/llama-3-orpo-v1"
QUIET_CHILD = "Ammartatox/qllamaredq"
SQLCODER = "0xWanax/Llama-3-SQLCoder-8B-q4f16_1-MLC-cuda"
GEMMA = "0x0dad0/00g"
NOT_SUSPECTS = ["meta-llama/Meta-Llama-3-8B-Instruct", "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
                "01-ai/Yi-6B"]  # fmt: skip


@pytest.fixture(scope="module")
def crawled(django_db_setup, django_db_blocker, replay_index):
    with crawled_once(django_db_blocker, replay_index, ["suspects.jsonl.gz"]) as (server, _):
        yield server


def state(repo_id: str) -> ModelLicense:
    return ModelLicense.objects.get(model__repo_id=repo_id)


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("llama-3-8b-Instruct-bnb-4bit", "llama3"),
        ("Nous-Hermes-Llama2-70b", "llama2"),
        ("Llama-3-SQLCoder-8B-q4f16_1-MLC-cuda", "llama3"),
        ("Meta-Llama-3.1-8B-Instruct", "llama3.1"),
        ("llama-3-11.5B-DUS", "llama3"),  # 11.5B is a size, not Llama 3.1
        ("CodeLlama-7b-Python", "llama2"),  # Code Llama is under the Llama 2 license
        ("Qwen2-72B-Instruct-GGUF", "qwen2-72b"),  # its own license, not Qwen2's Apache
        ("TinyLlama-1.1B-Chat-v1.0", None),
        ("open_llama_7b", None),
        ("paraphrase-MiniLM-L3-v2", None),
        ("dolphin-2.9-mixtral-8x22b", "mixtral"),  # "dolphin" holds no Phi
        ("llama2-SQL-mistral", None),  # a name with two families says neither alone
    ],
)
def test_a_name_says_its_family(name, family):
    assert suspects.name_family(name) == family


def test_the_tokenizer_and_config_say_what_a_name_does_not():
    config = {"model_type": "llama", "tokenizer_config": {"bos_token": "<|begin_of_text|>",
              "chat_template": "<|start_header_id|>user<|end_header_id|>"}}  # fmt: skip
    found = suspects.judge(suspects.signals("acme/quiet-model", [], config))
    assert found is not None and found.family == "llama3x" and found.license is None
    # Llama 3.x, which point release unknown: no license to name, so nothing is said...
    assert suspects.suspect("acme/quiet-model", declared="mit", config=config) == []
    # ...until the name says which: the signals agree on the most specific family.
    [said] = suspects.suspect("acme/quiet-llama-3-8b", declared="mit", config=config)
    assert (said["family_key"], said["license"]) == ("llama3", "llama3")
    assert said["confidence"] > 0.9 and [s.split(":")[0] for s in said["signals"]] == [
        "name",
        "config",
        "tokenizer",
    ]
    assert said["id"] == "meta-llama/Meta-Llama-3-8B"  # the best known candidate by its size


def test_an_image_model_is_no_llama_whatever_its_name():
    """A LoRA named after an artist called Gemma is a Stable Diffusion LoRA."""
    tags = ["diffusers", "text-to-image", "stable-diffusion", "lora"]
    assert suspects.suspect("KappaNeuro/gemma-correll-style", declared="other", tags=tags) == []


def test_an_architecture_alone_is_no_suspicion():
    """Yi and TinyLlama are Llama-shaped; the Hub's `llama` model-type tag says no more."""
    assert suspects.suspect("01-ai/Yi-6B", declared="other", tags=["llama"]) == []


def test_a_readme_naming_its_base_is_read():
    readme = "This model is a fine-tuned version of [NousResearch/Llama-2-7b-chat-hf](https://x)"
    [said] = suspects.suspect("acme/results", declared="apache-2.0", readme=readme)
    assert (said["id"], said["license"]) == ("NousResearch/Llama-2-7b-chat-hf", "llama2")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.lists(st.one_of(st.text(max_size=20), st.integers())),
       st.one_of(st.none(), st.dictionaries(st.text(max_size=10), st.text(max_size=50))))  # fmt: skip
def test_any_record_gives_a_suspicion_or_nothing(name, tags, config):
    for said in suspects.suspect(name, declared=None, tags=tags, config=config, readme=name):
        assert said["license"] and 0.5 <= said["confidence"] <= 1


def test_a_megabyte_readme_grows_linearly():
    from tests.adversarial import GROWTH_BOUND, growth

    call = lambda t: suspects.signals("a/b", [], None, t)  # noqa: E731
    assert growth(call, lambda n: "fine-tuned from " * (n // 16))[1] < GROWTH_BOUND


@pytest.mark.django_db
def test_a_re_upload_of_llama_3_tagged_apache_is_suspected_and_reviewed(crawled):
    root = state(UNSLOTH)
    [said] = root.suspected_bases
    assert (said["family"], said["license"]) == ("Llama 3", "llama3")
    assert said["id"] == "meta-llama/Meta-Llama-3-8B"
    assert any(s.startswith("name: ") for s in said["signals"])
    # The verdict keeps its rule: what the metadata says, with the suspicion beside it.
    assert (root.declared, root.verdict, root.effective) == ("apache-2.0", "allowed", "allowed")
    assert root.needs_review
    assert "Llama 3" in root.suspicion.summary and "llama3" in root.suspicion.summary


@pytest.mark.django_db
def test_what_derives_from_a_suspect_names_it(crawled):
    for repo in (CHILD, QUIET_CHILD):
        child = state(repo)
        assert child.suspected_bases == []  # its own base is declared
        assert child.suspicion.upstream == (UNSLOTH,) and child.suspicion.keys == ["llama3"]
        assert child.effective == "allowed" and child.needs_review


@pytest.mark.django_db
def test_other_suspects_and_real_bases(crawled):
    assert state(SQLCODER).suspected_bases[0]["license"] == "llama3"
    assert state(SQLCODER).needs_review
    gemma = state(GEMMA)
    assert gemma.suspected_bases[0]["family"] == "Gemma" and gemma.verdict == "unknown"
    for repo in NOT_SUSPECTS:
        assert not state(repo).suspicion, repo


@pytest.mark.django_db
def test_the_whole_catalog_pass_finds_the_same(crawled):
    assert assessment.assess_all().changed == []


@pytest.fixture
def legal(db) -> User:
    user = User.objects.create_user("lena", password="x")
    user.groups.add(role("legal"))
    return user


def _reassess_children() -> None:
    kids = HubModel.objects.filter(repo_id__in=[CHILD, QUIET_CHILD]).values_list("pk", flat=True)
    assessment.assess(list(kids))


@pytest.mark.django_db
def test_a_reviewer_confirms_it_and_the_terms_bind(crawled, legal):
    model = HubModel.objects.get(repo_id=UNSLOTH)
    assessment.determine(model=model, license_key="llama3", reason="a re-upload of Llama 3",
                         by=legal)  # fmt: skip
    _reassess_children()
    root = state(UNSLOTH)
    assert (root.declared, root.effective, root.suspected_bases) == ("llama3", "conditional", [])
    child = state(CHILD)
    assert (child.effective, child.conflict, bool(child.suspicion)) == ("conditional", True, False)


@pytest.mark.django_db
def test_a_reviewer_dismisses_it_and_it_is_said_no_more(crawled, legal):
    model = HubModel.objects.get(repo_id=UNSLOTH)
    assessment.determine(model=model, license_key="apache-2.0", reason="checked: not Llama",
                         by=legal)  # fmt: skip
    _reassess_children()
    root = state(UNSLOTH)
    assert (root.effective, root.suspected_bases, root.needs_review) == ("allowed", [], False)
    assert not state(CHILD).suspicion and not state(CHILD).needs_review

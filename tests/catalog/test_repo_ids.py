"""The |breakable filter: repo ids wrap at their separators and camelCase steps, not mid-word (they
wrapped mid-word under `word-break: break-all`)."""

from catalog.templatetags.repo_ids import breakable


def test_a_repo_id_breaks_after_its_separators_and_between_camel_case_words():
    assert breakable("FinGPT/fingpt-forecaster_dow30_llama2-7b_lora") == (
        "Fin<wbr>GPT/<wbr>fingpt-<wbr>forecaster_<wbr>dow30_<wbr>llama2-<wbr>7b_<wbr>lora"
    )
    assert breakable("TheBloke/Llama-2-7B-Chat-GGUF") == (
        "The<wbr>Bloke/<wbr>Llama-<wbr>2-<wbr>7B-<wbr>Chat-<wbr>GGUF"
    )
    assert breakable("v0.1") == "v0.<wbr>1"


def test_hostile_text_is_escaped_before_any_break_is_added():
    assert breakable('<script>a/b&"c</script>') == (
        "&lt;script&gt;a/<wbr>b&amp;&quot;c&lt;/<wbr>script&gt;"
    )
    assert breakable(None) == "" and breakable(7) == "7"
    assert breakable("a\x00b") == "a\x00b"  # a NUL is text like any other here

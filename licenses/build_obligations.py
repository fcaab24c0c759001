"""Build-time data: the texts each license makes its users reproduce (read by build_kb.py only).

One entry per duty that fixes words or a pass-through: `code` (a condition code of the license's
row), `text` (the exact words to reproduce, "" where the license fixes none), `duty` (what to do,
in our words), `clause` (the section of the license) and `quote` (the license's own words).
`source` is the reference text the quote comes from: a file of licenses/data/texts/ (the build
stops when the quote or the text is not in it, whitespace folded), `licenses.md` (a quote of the
shared research, ../shared/docs/licenses.md, which the repository does not hold; the build checks
it against that file the same way), or a description of a text we do not hold (then
`checked_in` stays empty and the pages say the text is not held here).

Nothing is filled in by family: Llama 2 has a Notice line and no "Built with" or name prefix, and
a license whose required words are not in the knowledge has no entry for them (the checklist says
"text not in the knowledge base").
"""

from __future__ import annotations

from pathlib import Path

LLAMA_AUP_DUTY = "Adhere to the Acceptable Use Policy, incorporated by reference"


def ob(code: str, text: str, clause: str, quote: str, source: str, duty: str) -> dict[str, str]:
    return {"code": code, "text": text, "duty": duty, "clause": clause, "quote": quote,
            "source": source}  # fmt: skip


def _llama3x(version: str, source: str) -> list[dict[str, str]]:
    """Llama 3.1, 3.2, 3.3 and 4 share §1.b.i's wording; the Notice line names the version."""
    return [
        ob("attribution", "Built with Llama", "§1.b.i",
           "prominently display “Built with Llama” on a related website, user interface, "
           "blogpost, about page, or product documentation", source,
           "Display prominently on a related website, user interface, blog post, about page or "
           "product documentation"),
        ob("naming", "Llama", "§1.b.i",
           "you shall also include “Llama” at the beginning of any such AI model name", source,
           "Begin the name of a distributed model built, trained or fine-tuned with it (or with "
           "its outputs) with this word"),
        ob("notice_file",
           f"Llama {version} is licensed under the Llama {version} Community License, "
           "Copyright © Meta Platforms, Inc. All Rights Reserved.", "§1.b.iii",
           "You must retain in all copies of the Llama Materials that you distribute the "
           "following attribution notice within a “Notice” text file distributed as a part of "
           "such copies", source, "Ship in a Notice text file with every copy distributed"),
    ]  # fmt: skip


OPENRAIL_QUOTE = (
    "Use-based restrictions as referenced in paragraph 5 MUST be included as an enforceable "
    "provision by You in any type of legal agreement (e.g. a license) governing the use and/or "
    "distribution of the Model or Derivatives of the Model"
)
OPENRAIL_DUTY = (
    "Pass the use-based restrictions (paragraph 5, Attachment A) on as an enforceable provision "
    "of any agreement under which the model or a derivative is used or distributed, and tell "
    "recipients they apply"
)


def _openrail(source: str, clause: str = "§4(a)") -> list[dict[str, str]]:
    return [ob("use_restrictions", "", clause, OPENRAIL_QUOTE, source, OPENRAIL_DUTY)]


CC_BY_4 = ob(
    "attribution", "", "CC BY 4.0 Legal Code §3(a)(1)",
    "You must give appropriate credit, provide a link to the license, and indicate if changes "
    "were made.", "Creative Commons 4.0 (the deed's summary of §3(a); the legal code is not held "
    "here)",
    "Credit the creator as they ask, keep the copyright, license and disclaimer notices, link the "
    "license, and say whether and how you changed it",
)  # fmt: skip

# Meta's and Stability AI's research licenses of one template (§3 ATTRIBUTION): the notice goes
# with every copy, derivatives included, beside a copy of the license.
RESEARCH_ATTRIBUTION_QUOTE = (
    "Together with any copies of the Software Products (as well as derivative works thereof or "
    "works incorporating the Software Products) that you distribute, you must provide (i) a copy "
    "of this License, and (ii) the following attribution notice"
)


def _research_notice(text: str, source: str) -> list[dict[str, str]]:
    return [ob("notice_file", text, "§3", RESEARCH_ATTRIBUTION_QUOTE, source,
               "Ship with every copy distributed (derivative works and works incorporating it "
               "too), beside a copy of the license")]  # fmt: skip


OBLIGATIONS: dict[str, list[dict[str, str]]] = {
    "llama2": [
        ob(
            "notice_file",
            "Llama 2 is licensed under the LLAMA 2 Community License, Copyright (c) Meta "
            "Platforms, Inc. All Rights Reserved.",
            "§1.b.iii",
            "You must retain in all copies of the Llama Materials that you distribute the "
            'following attribution notice within a "Notice" text file distributed as a part of '
            "such copies",
            "llama2__LICENSE.txt",
            "Ship in a Notice text file with every copy distributed",
        ),
    ],  # fmt: skip
    "llama3": [
        ob(
            "attribution",
            "Built with Meta Llama 3",
            "§1.b.i",
            "prominently display “Built with Meta Llama 3” on a related website, user interface, "
            "blogpost, about page, or product documentation",
            "llama3__LICENSE.txt",
            "Display prominently on a related website, user interface, blog post, about page or "
            "product documentation",
        ),
        ob(
            "naming",
            "Llama 3",
            "§1.b.i",
            "you shall also include “Llama 3” at the beginning of any such AI model name",
            "llama3__LICENSE.txt",
            "Begin the name of a distributed model built, trained or fine-tuned with it with "
            "these words",
        ),
        ob(
            "notice_file",
            "Meta Llama 3 is licensed under the Meta Llama 3 Community License, Copyright © Meta "
            "Platforms, Inc. All Rights Reserved.",
            "§1.b.iii",
            "You must retain in all copies of the Llama Materials that you distribute the "
            "following attribution notice within a “Notice” text file distributed as a part of "
            "such copies",
            "llama3__LICENSE.txt",
            "Ship in a Notice text file with every copy distributed",
        ),
    ],  # fmt: skip
    "llama3.1": _llama3x("3.1", "llama3.1__LICENSE.txt"),
    "llama3.2": _llama3x("3.2", "llama3.2__LICENSE.txt"),
    "llama3.3": _llama3x("3.3", "llama3.3__LICENSE.txt"),
    "llama4": _llama3x("4", "llama4__LICENSE.txt"),
    "gemma": [
        ob(
            "use_restrictions",
            "",
            "§3.1",
            "You must include the use restrictions referenced in Section 3.2 as an enforceable "
            "provision in any agreement … governing the use and/or distribution",
            "licenses.md",
            "Pass the use restrictions of §3.2 (the Gemma Prohibited Use Policy) on as an "
            "enforceable provision of any agreement under which it is used or distributed",
        ),
        ob(
            "notice_file",
            "Gemma is provided under and subject to the Gemma Terms of Use found at "
            "ai.google.dev/gemma/terms",
            "§3.1 (condition 4)",
            "All Distributions (other than through a Hosted Service) must be accompanied by a "
            '"Notice" text file that contains the following notice',
            "Gemma Terms of Use (ai.google.dev/gemma/terms); the text is not held under "
            "licenses/data/texts, so this quote is not checked by the build",
            "Ship in a Notice text file with every distribution other than a hosted service",
        ),
    ],  # fmt: skip
    "apache-2.0": [
        ob(
            "notice_file",
            "",
            "§4(d)",
            'If the Work includes a "NOTICE" text file as part of its distribution, then any '
            "Derivative Works that You distribute must include a readable copy of the attribution "
            "notices contained within such NOTICE file",
            "apache-2.0__LICENSE.txt",
            "Pass on the attribution notices of the NOTICE file the model ships, if it ships one "
            "(in a NOTICE file, the documentation or a display of third-party notices)",
        ),
    ],  # fmt: skip
    "creativeml-openrail-m": _openrail("creativeml-openrail-m__LICENSE.txt"),
    "openrail++": _openrail("modelgo__OpenRAIL++.txt"),
    "bigscience-openrail-m": _openrail("modelgo__BigScience-BLOOM-OpenRAIL-M.txt"),
    "bigscience-bloom-rail-1.0": _openrail(
        "modelgo__BigScience-BLOOM-RAIL-1.0.txt", "Section III, Distribution and Redistribution, 1"
    ),
    "deepseek": _openrail("deepseek__LICENSE-MODEL.txt"),
    "tongyi-qianwen": [
        ob(
            "notice_file",
            "Tongyi Qianwen is licensed under the Tongyi Qianwen LICENSE AGREEMENT, Copyright (c) "
            "Alibaba Cloud. All Rights Reserved.",
            "§3.c",
            "You shall retain in all copies of the Materials that You distribute the following "
            'attribution notices within a "Notice" text file distributed as a part of such copies',
            "tongyi-qianwen__LICENSE_AGREEMENT.txt",
            "Ship in a Notice text file with every copy distributed",
        ),
    ],  # fmt: skip
    "tongyi-qianwen-research": [
        ob(
            "notice_file",
            "Tongyi Qianwen is licensed under the Tongyi Qianwen RESEARCH LICENSE AGREEMENT, "
            "Copyright (c) Alibaba Cloud. All Rights Reserved.",
            "§3.c",
            "You shall retain in all copies of the Materials that You distribute the following "
            'attribution notices within a "Notice" text file distributed as a part of such copies',
            "tongyi-qianwen-research__LICENSE_AGREEMENT.txt",
            "Ship in a Notice text file with every copy distributed",
        ),
    ],  # fmt: skip
    "deepfloyd-if-license": _research_notice(
        "DeepFloyd is licensed under the DeepFloyd License, Copyright (c) Stability AI Ltd. All "
        "Rights Reserved.",
        "deepfloyd-if__LICENSE-MODEL.txt",
    ),
    "opt-175b": _research_notice(
        "OPT-175B is licensed under the OPT-175B license, Copyright (c) Meta Platforms, Inc. All "
        "Rights Reserved.",
        "modelgo__OPT-175B.txt",
    ),
    "seer": _research_notice(
        "SEER is licensed under SEER license, Copyright (c) Meta Platforms, Inc. All Rights "
        "Reserved.",
        "modelgo__SEER.txt",
    ),
    "sdxl-0.9-research": _research_notice(
        "SDXL 0.9 is licensed under the SDXL Research License, Copyright (c) Stability AI Ltd. "
        "All Rights Reserved.",
        "sdxl0.9-research__LICENSE.txt",
    ),
    "qwen": [
        ob(
            "attribution",
            "Built with Qwen",
            "§5.b",
            "you shall prominently display “Built with Qwen” or “Improved using Qwen” in the "
            "related product documentation",
            "licenses.md",
            'Display prominently in the related product documentation ("Improved using Qwen" '
            "is the license's other wording)",
        ),
    ],  # fmt: skip
    "flux-1-dev-non-commercial-license": [
        ob(
            "notice_file",
            "The FLUX.1 [dev] Model is licensed by Black Forest Labs Inc. under the FLUX.1 [dev] "
            "Non-Commercial License. Copyright Black Forest Labs Inc. IN NO EVENT SHALL BLACK "
            "FOREST LABS INC. BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN "
            "ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH USE "
            "OF THIS MODEL.",
            "§3.b",
            "you must prominently display the following notice alongside the Distribution of the "
            "FLUX.1 [dev] Model or Derivative (such as via a “Notice” text file distributed as "
            "part of such FLUX.1 [dev] Model or Derivative)",
            "flux-1-dev-non-commercial__LICENSE.txt",
            "Display prominently with every distribution (e.g. a Notice file); a derivative's "
            "notice also says that you modified the model (§3.c)",
        ),
    ],  # fmt: skip
    "stabilityai-nc-research-community": [
        ob(
            "notice_file",
            "",
            "§1.c (SDXL-Turbo, SV3D), §1.b (SVD)",
            'retain the following attribution notice within a "Notice" text file distributed as '
            "a part of such copies",
            "sai-nc-community__SDXL-Turbo_LICENSE.txt",
            "Ship the attribution notice of the model's own license in a Notice file; its words "
            "name the model and differ between SDXL-Turbo, SVD and SV3D, so read that license",
        ),
    ],  # fmt: skip
    "stabilityai-ai-community": [
        ob(
            "attribution",
            "Powered by Stability AI",
            "",
            "Powered by Stability AI",
            "licenses.md",
            "Display (the research records the words but no clause: the Community License text "
            "is not held here)",
        ),
    ],  # fmt: skip
    "falcon-2-11b": [
        ob(
            "attribution",
            "[name of relevant Derivative Work] is built using Falcon LLM technology from the "
            "Technology Innovation Institute",
            "",
            "[name of relevant Derivative Work] is built using Falcon LLM technology from the "
            "Technology Innovation Institute",
            "licenses.md",
            "Display with a derivative work, naming it (clause not recorded in the research)",
        ),
    ],  # fmt: skip
    "moonshot-modified-mit": [
        ob(
            "attribution",
            "Kimi K2",
            "",
            "more than 100 million monthly active users, or more than 20 million US dollars … in "
            'monthly revenue, you shall prominently display "Kimi K2"',
            "licenses.md",
            "Display prominently on the user interface of a product or service above 100M monthly "
            "active users or USD 20M monthly revenue",
        ),
    ],  # fmt: skip
    **{
        key: [CC_BY_4]
        for key in (
            "cc-by-4.0",
            "cc-by-sa-4.0",
            "cc-by-nd-4.0",
            "cc-by-nc-4.0",
            "cc-by-nc-sa-4.0",
            "cc-by-nc-nd-4.0",
        )
    },  # fmt: skip
}


def _fold(text: str) -> str:
    return " ".join(text.split())


def checked(entry: dict[str, str], texts: Path, research: str) -> dict[str, str]:
    """The entry with `checked_in`: the file its quote (and text) were found in verbatim.
    A quote that names a file we hold but is not in it stops the build: no invented duty."""
    source = entry["source"]
    if source == "licenses.md":
        body = research
    elif (texts / source).is_file():
        body = (texts / source).read_text(encoding="utf-8")
    else:
        return {**entry, "checked_in": ""}
    body = _fold(body)
    parts = [p for p in entry["quote"].split("…") if p.strip()]
    if entry["text"]:
        parts.append(entry["text"])
    missing = [p for p in parts if _fold(p.strip()) not in body]
    if missing:
        raise SystemExit(f"{source}: not found verbatim: {missing[0][:80]!r}")
    return {**entry, "checked_in": source}

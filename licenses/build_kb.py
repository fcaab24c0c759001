"""Build the license knowledge base `licenses/data/licenses.json` from the shared research tables.

Run once by hand when the research changes, then review the diff and commit the output:

    .venv/bin/python -m licenses.build_kb [--shared ../shared]

(as a module, so the checkout's own `licenses` package is imported, not an installed one).

Inputs (never read at runtime), under the shared research folder `--shared` (by default `../shared`,
beside the checkout; the repository does not hold it): `docs/licenses.tsv` (canonical licenses,
verdicts, condition codes), `docs/hub-license-ids.tsv` (the Hub's identifiers and names),
`docs/licenses.md` (the research: the decisive clause of each license, quoted in its tables, and the
rules of resolution) and `hub-snapshot/license-texts/` (reference texts, copied to
`licenses/data/texts/`). What the build takes from them is in `licenses/data/licenses.json`;
"licenses.md §N" below is a section of that research file. Each license's required texts
(attribution, naming, Notice lines, pass-throughs, with their clauses) are in
`licenses/build_obligations.py`, whose quotes the build checks against those texts. The
hand-reviewed parts below (aliases, link patterns, condition values, names, the few rows for
licenses whose text we hold but the TSV lacks) are data too: edit them here, rebuild, review the
JSON diff.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import sysconfig
from pathlib import Path
from typing import Any

from licenses.build_obligations import OBLIGATIONS, checked
from licenses.classify import normalise_name  # one normalisation, for the data and for models

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
TEXTS = DATA / "texts"

# The TSV's verdict words to ours (licenses.classify.VERDICTS, the words of the pages and the
# API); its "unclear" is our "unknown": nothing identifies the terms, never `allowed`.
VERDICTS = {
    "allowed": "allowed",
    "conditional": "conditional",
    "prohibited": "prohibited",
    "unclear": "unknown",
}

# code -> (label, kind). kind: restriction (limits who/what may use it commercially),
# obligation (something to do when using/distributing), risk (terms that can change or end).
CONDITIONS = {
    "mau_700m": ("More than 700M monthly active users needs a separate license", "restriction"),
    "mau_100m": ("More than 100M monthly active users needs a separate license", "restriction"),
    "mau_10m": ("More than 10M monthly active users needs a separate license", "restriction"),
    "mau_1m": ("More than 1M monthly active users needs a separate license", "restriction"),
    "usage_threshold": ("Usage above a threshold needs a separate license", "restriction"),
    "revenue_1m": ("Annual revenue above USD 1M ends the grant", "restriction"),
    "revenue_10m": ("Annual revenue above USD 10M needs a paid license", "restriction"),
    "revenue_threshold": ("Revenue above a threshold needs a separate license", "restriction"),
    "royalty": ("Royalties above a revenue threshold", "restriction"),
    "aup": ("Acceptable use policy binds all use", "restriction"),
    "use_restrictions": ("Use-based restrictions, passed on to every recipient", "restriction"),
    "no_output_training": ("Outputs may not be used to train other models", "restriction"),
    "outputs_restricted": ("Outputs carry the same purpose limit", "restriction"),
    "research_only": ("Research use only", "restriction"),
    "non_commercial": ("Non-commercial use only", "restriction"),
    "non_production": ("No production use (testing/evaluation only)", "restriction"),
    "no_derivatives": ("Adapted versions may not be shared", "restriction"),
    "eu_restriction": ("No rights for EU-domiciled users (multimodal models)", "restriction"),
    "territory_restriction": ("Void in named territories", "restriction"),
    "hosting_restricted": ("Hosted/API use barred or separately licensed", "restriction"),
    "military_ban": ("No military use", "restriction"),
    "competitor_restriction": ("Rights withheld from competitors", "restriction"),
    "clinical_authorization": ("Clinical use needs regulatory authorization", "restriction"),
    "registration_required": ("Commercial use needs registration with the licensor", "obligation"),
    "attribution": ("Give attribution", "obligation"),
    "naming": ("Derivative names must carry the licensor's name", "obligation"),
    "notice_file": ("Ship a Notice file with the required text", "obligation"),
    "license_copy": ("Pass a copy of the license to recipients", "obligation"),
    "modification_notice": ("Mark modified files or derivatives as modified", "obligation"),
    "share_alike": ("Share-alike / copyleft", "obligation"),
    "network_copyleft": ("Copyleft triggered by network use", "obligation"),
    "derivatives_inherit": ("Derivatives carry the same terms", "obligation"),
    "distillation_inherit": ("Models trained on outputs count as derivatives", "obligation"),
    "revocable": ("Licensor may revoke or restrict use", "risk"),
    "terms_updatable": ("Licensor may change the terms unilaterally", "risk"),
    "guardrail_termination": ("Removing safety guardrails ends the license", "risk"),
    "patent_termination": ("Rights end on an IP suit against the licensor", "risk"),
    "foreign_law": ("Governed by non-US law with exclusive foreign courts", "risk"),
    "no_patent_grant": ("No patent rights granted", "risk"),
}

# Values a condition carries (threshold, URL, required text), by code and optionally by license.
DEFAULT_VALUES = {
    "mau_700m": "700,000,000 monthly active users",
    "mau_100m": "100,000,000 monthly active users",
    "mau_10m": "10,000,000 monthly active users",
    "mau_1m": "1,000,000 monthly active users",
    "revenue_1m": "USD 1,000,000 annual revenue",
    "revenue_10m": "USD 10,000,000 annual revenue",
}
VALUES = {
    "llama2": {"aup": "https://ai.meta.com/llama/use-policy"},
    "llama3": {"aup": "https://llama.meta.com/llama3/use-policy"},
    "llama3.1": {"aup": "https://llama.meta.com/llama3_1/use-policy"},
    "llama3.2": {"aup": "https://www.llama.com/llama3_2/use-policy"},
    "llama3.3": {"aup": "https://www.llama.com/llama3_3/use-policy"},
    "llama4": {"aup": "https://www.llama.com/llama4/use-policy"},
    "gemma": {"aup": "https://ai.google.dev/gemma/prohibited_use_policy"},
    "stabilityai-ai-community": {"aup": "https://stability.ai/use-policy"},
    "stabilityai-nc-research-community": {"aup": "https://stability.ai/use-policy"},
    "tencent-hunyuan-community": {
        "territory_restriction": "European Union, United Kingdom, South Korea"
    },
    "bilibili-model-ula": {"revenue_threshold": "RMB 1,000,000,000 annual revenue"},
    "tii-falcon-llm-1.0": {"royalty": "10% above USD 1,000,000 revenue"},
    "playground-v2-community": {
        "usage_threshold": "monthly unique users (image-generation businesses)"
    },
    "cogvideox": {
        "usage_threshold": "1,000,000 visits per month",
        "registration_required": "https://open.bigmodel.cn/mla/form",
    },
    "falcon-180b": {"hosting_restricted": "hosted services may need a separate license"},
    "tongyi-qianwen": {"foreign_law": "PRC law, Hangzhou courts"},
    "qwen": {"foreign_law": "PRC law, Hangzhou courts"},
    "deepseek": {"foreign_law": "PRC law, Hangzhou courts"},
    "mrl": {"foreign_law": "French law, Paris courts"},
}
# The required words of attribution, naming and notice_file conditions are not values here: they
# are the license's own texts in build_obligations.OBLIGATIONS (with their clauses), and a
# condition's value is taken from there, so a text lives in one place.
TEXT_CODES = ("attribution", "naming", "notice_file")
for _k in ("llama3.2", "llama3.3", "llama4"):
    VALUES[_k]["eu_restriction"] = (
        "individuals domiciled / companies based in the EU (multimodal models)"
    )

# Names for keys with no Hub identifier (the Hub's own names are taken from hub-license-ids.tsv).
NAMES = {
    "llama-1": "LLaMA 1 License (non-commercial research)",
    "chameleon-research": "Meta Chameleon Research License",
    "health-ai-developer-foundations": "Health AI Developer Foundations Terms of Use",
    "tongyi-qianwen": "Tongyi Qianwen License Agreement",
    "tongyi-qianwen-research": "Tongyi Qianwen Research License Agreement",
    "qwen": "Qwen License Agreement",
    "qwen-research": "Qwen Research License Agreement",
    "deepseek": "DeepSeek License Agreement v1.0",
    "mrl": "Mistral AI Research License",
    "mnpl": "Mistral AI Non-Production License",
    "tii-falcon-llm-1.0": "TII Falcon LLM License 1.0",
    "falcon-180b": "Falcon 180B TII License 1.0",
    "falcon-2-11b": "Falcon 2 11B TII License 1.0",
    "falcon-llm-license": "TII Falcon License (Falcon 3, Falcon-H1, Falcon Mamba)",
    "stabilityai-ai-community": "Stability AI Community License",
    "stabilityai-nc-research-community": "Stability AI Non-Commercial Research Community License",
    "flux-1-dev-non-commercial-license": "FLUX.1 [dev] Non-Commercial License",
    "nvidia-open-model-license": "NVIDIA Open Model License",
    "nvidia-oneway-noncommercial-license": "NVIDIA OneWay Noncommercial License",
    "cohere-c4ai-nc": "CC-BY-NC-4.0 with the Cohere C4AI Acceptable Use Policy",
    "microsoft-research-license": "Microsoft Research License",
    "exaone": "EXAONE AI Model License Agreement 1.1 - NC",
    "hyperclovax-seed": "HyperCLOVA X SEED Model License",
    "tencent-hunyuan-community": "Tencent Hunyuan Community License",
    "moonshot-modified-mit": "Modified MIT License (Moonshot AI, Kimi K2)",
    "ltxv-open-weights": "LTX-Video Open Weights License",
    "playground-v2-community": "Playground v2 Community License",
    "bilibili-model-ula": "bilibili Model Use License Agreement",
    "coqui-public-model-license": "Coqui Public Model License",
    "databricks-open-model-license": "Databricks Open Model License",
    "none": "No license declared",
    "cogvideox": "The CogVideoX License",
    "opt-175b": "OPT-175B License Agreement",
    "seer": "SEER License Agreement",
    "sdxl-0.9-research": "SDXL 0.9 Research License Agreement",
    "other-non-commercial": "Unlisted license declared non-commercial by its name",
}

# Decisive clauses of standard licenses (licenses.md §3.8 quotes, else the license's own text).
STANDARD_CLAUSES = {
    "apache-2.0": "a perpetual, worldwide, non-exclusive, no-charge, royalty-free, irrevocable copyright "  # noqa: E501
    "license to reproduce, prepare Derivative Works of, publicly display … and distribute",
    "mit": "Permission is hereby granted, free of charge, to any person obtaining a copy … to deal in "  # noqa: E501
    "the Software without restriction",
    "bsd-3-clause": "Redistribution and use in source and binary forms, with or without modification, "  # noqa: E501
    "are permitted provided that the following conditions are met",
    "cc-by-4.0": "You must give appropriate credit, provide a link to the license, and indicate if "
    "changes were made.",
    "cc-by-sa-4.0": "The Adapter's License You apply must be a Creative Commons license with the same "  # noqa: E501
    "License Elements",
    "cc-by-nd-4.0": "produce and reproduce, but not Share, Adapted Material.",
    "agpl-3.0": "must prominently offer all users interacting with it remotely … the Corresponding Source",  # noqa: E501
    "cc-by-nc-4.0": "NonCommercial means not primarily intended for or directed towards commercial "
    "advantage or monetary compensation.",
    "cc-by-nc-sa-4.0": "NonCommercial means not primarily intended for or directed towards commercial "  # noqa: E501
    "advantage or monetary compensation.",
    "cc-by-nc-nd-4.0": "NonCommercial means not primarily intended for or directed towards commercial "  # noqa: E501
    "advantage or monetary compensation.",
}

# Licenses whose full text we hold (license-texts/) but that licenses.tsv has no row for.
EXTRA_ROWS = [
    {
        "canonical_key": "cogvideox",
        "commercial_use": "conditional",
        "conditions": "registration_required;usage_threshold;license_copy",
        "source": "THUDM/CogVideo MODEL_LICENSE (license-texts/cogvideox__MODEL_LICENSE.txt)",
        "quote": "the number of service users (visits) for your commercial activities must not exceed 1 "  # noqa: E501
        "million visits per month",
    },
    {
        "canonical_key": "opt-175b",
        "commercial_use": "prohibited",
        "conditions": "research_only;non_commercial;license_copy;notice_file",
        "source": "Xtra-Computing/ModelGo license_raw/OPT-175B.txt",
        "quote": "solely for your non-commercial research purposes",
    },
    {
        "canonical_key": "seer",
        "commercial_use": "prohibited",
        "conditions": "research_only;non_commercial;license_copy;notice_file",
        "source": "Xtra-Computing/ModelGo license_raw/SEER.txt",
        "quote": "for non-commercial research purposes only",
    },
    {
        "canonical_key": "sdxl-0.9-research",
        "commercial_use": "prohibited",
        "conditions": "research_only;non_commercial;license_copy;notice_file",
        "source": "Stability-AI/generative-models model_licenses/LICENSE-SDXL0.9",
        "quote": "solely for your non-commercial research purposes",
    },
    {
        "canonical_key": "other-non-commercial",
        "commercial_use": "prohibited",
        "conditions": "non_commercial",
        "source": "Canopy rule: an unlisted license_name that says non-commercial or research "
        "(e.g. owkin-non-commercial, kaiko-non-commercial) is read as non-commercial",
        "quote": "",
    },
]

# Conditions a licenses.tsv row lacks that the license text we hold states (its Notice line is in
# build_obligations.OBLIGATIONS with the clause): appended to the row's own.
EXTRA_CODES = {
    "tongyi-qianwen-research": ["notice_file", "license_copy", "modification_notice"],  # §3.a-c
    "deepfloyd-if-license": ["notice_file", "license_copy"],  # §3 (i), (ii)
}

# license_name variants (after normalise_name) -> key. Keys and Hub ids map to themselves.
ALIASES = {
    "llama-1": ["llama", "llama-1", "llama1", "llama-research", "meta-llama-1"],
    "llama2": [
        "llama-2-community",
        "llama-2",
        "llama2-community",
        "meta-llama-2",
        "llama-2-chat",
        "meta-llama-2-community",
    ],
    "llama3": [
        "llama-3",
        "meta-llama-3-community",
        "llama-3-community",
        "meta-llama-3",
        "llama3-community",
    ],
    "llama3.1": ["llama-3.1", "llama3-1", "llama-3-1", "llama-3.1-community", "llama3.1-community"],
    "llama3.2": ["llama-3.2", "llama3-2", "llama-3-2", "llama-3.2-community", "llama3.2-community"],
    "llama3.3": ["llama-3.3", "llama3-3", "llama-3-3", "llama-3.3-community", "llama3.3-community"],
    "llama4": ["llama-4", "llama-4-community", "llama4-community"],
    "gemma": ["gemma", "gemma-terms-of-use", "gemma-terms", "gemma-tou"],
    "health-ai-developer-foundations": ["hai-def"],
    "tongyi-qianwen": ["tongyi-qianwen", "tongyi-qianwen-license"],
    "tongyi-qianwen-research": ["tongyi-qianwen-research"],
    "qwen": ["qwen"],
    "qwen-research": ["qwen-research"],
    "deepseek": ["deepseek", "deepseek-model"],
    "mrl": ["mrl", "mistral-research", "mrl-0.1"],
    "mnpl": ["mnpl", "mistral-non-production", "mnpl-0.1"],
    "tii-falcon-llm-1.0": ["tii-falcon-llm", "tii-falcon"],
    "falcon-llm-license": ["falcon-llm", "falcon-mamba-7b", "falcon", "falcon3", "falcon-h1"],
    "falcon-180b": ["falcon-180b", "falcon-180b-tii"],
    "falcon-2-11b": ["falcon-2-11b", "falcon-2"],
    "stabilityai-ai-community": [
        "stabilityai-ai-community",
        "stability-ai-community",
        "stable-video-diffusion-community",
        "stabilityai-community",
    ],
    "stabilityai-nc-research-community": [
        "stabilityai-nc-research-community",
        "stable-cascade-nc-community",
        "sai-nc-community",
        "stable-video-diffusion-nc-community",
        "stability-ai-nc-research-community",
        "sv3d-nc-community",
    ],
    "flux-1-dev-non-commercial-license": [
        "flux-1-dev-non-commercial",
        "flux-dev-non-commercial",
        "flux.1-dev-non-commercial",
        "flux-1-dev",
    ],
    "nvidia-open-model-license": [
        "nvidia-open-model",
        "nvidia-nemotron-open-model",
        "nvidia-open-model-license-with-llama3.1-terms",
    ],
    "nvidia-oneway-noncommercial-license": [
        "nvidia-oneway-noncommercial",
        "nvidia-non-commercial",
        "nvidia",
        "nvidia-noncommercial",
    ],
    "apple-ascl": ["apple-sample-code", "apple-ascl"],
    "apple-amlr": ["apple-amlr", "apple-model-license-for-research"],
    "intel-research": ["intel-research", "intel-research-use"],
    "coqui-public-model-license": ["coqui-public-model", "cpml", "coqui"],
    "databricks-open-model-license": ["databricks-open-model", "dbrx"],
    "microsoft-research-license": ["microsoft-research", "msr"],
    "moonshot-modified-mit": ["modified-mit", "moonshot-modified-mit"],
    "fair-noncommercial-research-license": ["fair-noncommercial-research", "fair-nc"],
    "playground-v2-community": ["playground-v2-community", "playground-v2"],
    "openmdw-1.0": ["open-mdw", "openmdw"],
    "cogvideox": ["cogvideox", "cogvideox-model"],
    "sdxl-0.9-research": ["sdxl-0.9-research", "sdxl0.9-research", "sdxl-research"],
    "deepfloyd-if-license": ["deepfloyd-if", "deepfloyd"],
    "bsl-1.0": ["boost", "boost-1.0"],
}

# license_link patterns (regex over "host/path", lowercase, no scheme, no "www.") -> key.
LINKS = {
    "llama2": [
        r"^ai\.meta\.com/llama/license",
        r"^ai\.meta\.com/resources/models-and-libraries/llama-downloads",
        r"^huggingface\.co/meta-llama/llama-2-[^/]+/(blob|resolve|raw)/[^/]+/license",
    ],
    "llama3": [
        r"^llama\.meta\.com/llama3/license",
        r"^llama\.com/llama3/license",
        r"^huggingface\.co/meta-llama/meta-llama-3-[^/]+/(blob|resolve|raw)/[^/]+/license",
        r"^github\.com/meta-llama/llama3/blob/[^/]+/license",
    ],
    "llama3.1": [
        r"^(llama\.meta\.com|llama\.com)/llama3_1/license",
        r"^huggingface\.co/meta-llama/(meta-)?llama-3\.1-[^/]+/(blob|resolve|raw)/[^/]+/license",
    ],
    "llama3.2": [
        r"^(llama\.meta\.com|llama\.com)/llama3_2/license",
        r"^huggingface\.co/meta-llama/llama-3\.2-[^/]+/(blob|resolve|raw)/[^/]+/license",
    ],
    "llama3.3": [
        r"^(llama\.meta\.com|llama\.com)/llama3_3/license",
        r"^huggingface\.co/meta-llama/llama-3\.3-[^/]+/(blob|resolve|raw)/[^/]+/license",
    ],
    "llama4": [
        r"^(llama\.meta\.com|llama\.com)/llama4/license",
        r"^huggingface\.co/meta-llama/llama-4-[^/]+/(blob|resolve|raw)/[^/]+/license",
    ],
    "gemma": [r"^ai\.google\.dev/gemma/terms", r"^choosealicense\.com/licenses/gemma"],
    "health-ai-developer-foundations": [
        r"^developers\.google\.com/health-ai-developer-foundations/terms"
    ],
    "mrl": [r"^mistral\.ai/licen[cs]es/mrl"],
    "mnpl": [r"^mistral\.ai/licen[cs]es/mnpl"],
    "falcon-2-11b": [r"^falconllm(-staging)?\.tii\.ae/falcon-2-terms"],
    "falcon-llm-license": [
        r"^falconllm(-staging)?\.tii\.ae/falcon-(mamba-7b-)?terms",
        r"^falconllm\.tii\.ae/falcon-(3|h1)",
    ],
    "deepseek": [r"^github\.com/deepseek-ai/[^/]+/blob/[^/]+/license-model"],
    "tongyi-qianwen": [
        r"^github\.com/qwenlm/qwen/blob/[^/]+/tongyi(%20| )qianwen(%20| )license(%20| )agreement$"
    ],
    "tongyi-qianwen-research": [
        r"^github\.com/qwenlm/qwen/blob/[^/]+/tongyi(%20| )qianwen(%20| )research"
    ],
    "nvidia-open-model-license": [r"nvidia\.com/.*nvidia-open-model-license"],
    "coqui-public-model-license": [r"^coqui\.ai/cpml"],
    "databricks-open-model-license": [r"^databricks\.com/legal/open-model-license"],
    "flux-1-dev-non-commercial-license": [
        r"^huggingface\.co/black-forest-labs/flux\.1-dev/(blob|resolve|raw)/[^/]+/license",
        r"^github\.com/black-forest-labs/flux/blob/[^/]+/model_licenses/license-flux1-dev",
    ],
    "apache-2.0": [
        r"^apache\.org/licenses/license-2\.0",
        r"^opensource\.org/licenses?/apache-2-0",
        r"^choosealicense\.com/licenses/apache-2\.0",
        r"^huggingface\.co/black-forest-labs/flux\.1-schnell/(blob|resolve|raw)/[^/]+/license",
    ],
    "mit": [r"^opensource\.org/licenses?/mit", r"^choosealicense\.com/licenses/mit"],
    "cc-by-4.0": [r"^creativecommons\.org/licenses/by/4\.0"],
    "cc-by-sa-4.0": [r"^creativecommons\.org/licenses/by-sa/4\.0"],
    "cc-by-nc-4.0": [r"^creativecommons\.org/licenses/by-nc/4\.0"],
    "cc-by-nc-sa-4.0": [r"^creativecommons\.org/licenses/by-nc-sa/4\.0"],
    "cc-by-nc-nd-4.0": [r"^creativecommons\.org/licenses/by-nc-nd/4\.0"],
    "cc-by-nd-4.0": [r"^creativecommons\.org/licenses/by-nd/4\.0"],
    "cc0-1.0": [r"^creativecommons\.org/publicdomain/zero/1\.0"],
    "gpl-3.0": [r"^gnu\.org/licenses/gpl-3\.0"],
    "agpl-3.0": [r"^gnu\.org/licenses/agpl-3\.0"],
    "lgpl-3.0": [r"^gnu\.org/licenses/lgpl-3\.0"],
    "deepfloyd-if-license": [r"^huggingface\.co/spaces/deepfloyd/deepfloyd-if-license"],
    "cogvideox": [r"^huggingface\.co/thudm/cogvideox[^/]*/(blob|resolve|raw)/[^/]+/license"],
    "stabilityai-ai-community": [r"^stability\.ai/community-license"],
}

# Reference texts: file in license-texts/ (or the venv for the common OSS texts) -> (key, kind).
SHARED_TEXTS = {
    "cogvideox__MODEL_LICENSE.txt": "cogvideox",
    "creativeml-openrail-m__LICENSE.txt": "creativeml-openrail-m",
    "deepfloyd-if__LICENSE-MODEL.txt": "deepfloyd-if-license",
    "deepseek__LICENSE-MODEL.txt": "deepseek",
    "exaone__LICENSE.txt": "exaone",
    "flux-1-dev-non-commercial__LICENSE.txt": "flux-1-dev-non-commercial-license",
    "flux-1-schnell__LICENSE.txt": "apache-2.0",
    "llama2__LICENSE.txt": "llama2",
    "llama2__USE_POLICY.md": "llama2",
    "llama3__LICENSE.txt": "llama3",
    "llama3__USE_POLICY.md": "llama3",
    "llama3.1__LICENSE.txt": "llama3.1",
    "llama3.1__USE_POLICY.md": "llama3.1",
    "llama3.2__LICENSE.txt": "llama3.2",
    "llama3.2__USE_POLICY.md": "llama3.2",
    "llama3.3__LICENSE.txt": "llama3.3",
    "llama3.3__USE_POLICY.md": "llama3.3",
    "llama4__LICENSE.txt": "llama4",
    "llama4__USE_POLICY.md": "llama4",
    "modelgo__BigScience-BLOOM-OpenRAIL-M.txt": "bigscience-openrail-m",
    "modelgo__BigScience-BLOOM-RAIL-1.0.txt": "bigscience-bloom-rail-1.0",
    "modelgo__LGPL-LR.txt": "lgpl-lr",
    "modelgo__OPT-175B.txt": "opt-175b",
    "modelgo__SEER.txt": "seer",
    "modelgo__OpenRAIL++.txt": "openrail++",
    "openrail++__SDXL1.0_LICENSE.txt": "openrail++",
    "sai-nc-community__SDXL-Turbo_LICENSE.txt": "stabilityai-nc-research-community",
    "sdxl0.9-research__LICENSE.txt": "sdxl-0.9-research",
    "stable-video-diffusion-nc-community__SVD_LICENSE.txt": "stabilityai-nc-research-community",
    "sv3d__LICENSE.txt": "stabilityai-nc-research-community",
    "tongyi-qianwen-research__LICENSE_AGREEMENT.txt": "tongyi-qianwen-research",
    "tongyi-qianwen__LICENSE_AGREEMENT.txt": "tongyi-qianwen",
}
# Standard OSS texts shipped verbatim inside installed packages' dist-info (real copies).
VENV_TEXTS = {
    "mit__LICENSE.txt": ("mit", "django_htmx-*.dist-info/licenses/LICENSE"),
    "apache-2.0__LICENSE.txt": ("apache-2.0", "huggingface_hub-*.dist-info/licenses/LICENSE"),
    "bsd-3-clause__LICENSE.md": ("bsd-3-clause", "idna-*.dist-info/licenses/LICENSE.md"),
    "lgpl-3.0__LICENSE.txt": ("lgpl-3.0", "psycopg-*.dist-info/licenses/LICENSE.txt"),
    "mpl-2.0__LICENSE.txt": ("mpl-2.0", "pathspec-*.dist-info/licenses/LICENSE"),
}

# Hub identifiers that name a family or nothing: never decisive on their own (licenses.md §5).
PLACEHOLDERS = {"other", "unknown", "none", "cc", "bsd", "gpl", "lgpl", "openrail", "gfdl", "c-uda"}


def parse_clauses(md: str) -> dict[str, str]:
    """canonical key -> decisive clause, from the tables of licenses.md §3."""
    out: dict[str, str] = {}
    for line in md.splitlines():
        if not line.startswith("| ") or line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5:
            continue
        key = cells[0].replace("`", "").split(" (")[0].split(" / ")[0].strip()
        clause = cells[-1]
        if clause in ("—", "-", "") or key in ("canonical", "code", "tag"):
            continue
        out.setdefault(key, clause)
    return out


def family_version(key: str) -> tuple[str, str]:
    m = re.match(r"^(.*?)[-_]?v?(\d+(?:\.\d+)*[a-z]?)$", key)
    if m and m.group(1):
        return m.group(1).rstrip("-."), m.group(2)
    return key, ""


def first_url(text: str) -> str:
    m = re.search(r"https?://[^\s);,]+", text)
    return m.group(0) if m else ""


def build(shared: Path) -> dict:
    docs = shared / "docs"
    rows = list(csv.DictReader((docs / "licenses.tsv").open(encoding="utf-8"), delimiter="\t"))
    hub = {
        r["identifier"]: r["full_name"]
        for r in csv.DictReader(
            (docs / "hub-license-ids.tsv").open(encoding="utf-8"), delimiter="\t"
        )
    }
    research = (docs / "licenses.md").read_text(encoding="utf-8")
    clauses = parse_clauses(research)

    texts_by_key: dict[str, list[str]] = {}
    TEXTS.mkdir(parents=True, exist_ok=True)
    sources = ["# Reference texts (copied verbatim by licenses/build_kb.py)", ""]
    shared_texts = shared / "hub-snapshot" / "license-texts"
    for name, key in SHARED_TEXTS.items():
        shutil.copyfile(shared_texts / name, TEXTS / name)
        texts_by_key.setdefault(key, []).append(name)
    src_md = (shared_texts / "SOURCE.md").read_text(encoding="utf-8")
    sources += [line for line in src_md.splitlines() if line.startswith("- ")]
    # The running interpreter's packages (the project's venv, wherever the checkout is).
    site = Path(sysconfig.get_paths()["purelib"])
    for name, (key, pattern) in VENV_TEXTS.items():
        path = next(site.glob(pattern))
        shutil.copyfile(path, TEXTS / name)
        texts_by_key.setdefault(key, []).append(name)
        sources.append(
            f"- `{name}` ← PyPI package file `{path.parent.parent.name}/{path.name}` "
            f"(the {key} text as shipped by that package)"
        )
    (TEXTS / "SOURCE.md").write_text("\n".join(sources) + "\n", encoding="utf-8")

    canonical_to_hub: dict[str, str] = {}
    for r in rows:
        ids = r["hf_identifiers"]
        if r["canonical_key"] in hub:
            canonical_to_hub[r["canonical_key"]] = r["canonical_key"]
        elif ids.split(";")[0].split(" ")[0] in hub and ids.split(" ")[0] not in (
            "other",
            "cc-by-nc-4.0",
        ):
            canonical_to_hub[r["canonical_key"]] = ids.split(" ")[0]

    licenses: list[dict[str, Any]] = []
    seen_keys: set[str] = set()
    for r in [*rows, *EXTRA_ROWS]:
        canonical = r["canonical_key"]
        key = canonical_to_hub.get(canonical, canonical)
        codes = [c for c in (r.get("conditions") or "").split(";") if c]
        verified = "unverified" not in codes and "(unverified" not in r.get("commercial_use", "")
        codes = [c for c in codes if c != "unverified"]
        codes += [c for c in EXTRA_CODES.get(canonical, []) if c not in codes]
        verdict = VERDICTS[r["commercial_use"].split(" ")[0]]
        # An unreviewed research-use license is still research-use, and research-only or
        # non-commercial terms are `prohibited` (commercial use is not permitted), verified or not.
        if verdict == "unknown" and {"research_only", "non_commercial"} & set(codes):
            verdict = "prohibited"
        obligations = [checked(e, TEXTS, research) for e in OBLIGATIONS.get(key, [])]
        stray = [e["code"] for e in obligations if e["code"] not in codes]
        if stray:
            raise SystemExit(f"{key}: obligation {stray[0]} is not a condition of its row")
        required = {
            e["code"]: e["text"]
            for e in reversed(obligations)
            if e["text"] and e["code"] in TEXT_CODES
        }
        values = {**DEFAULT_VALUES, **VALUES.get(key, {}), **required}
        conditions = [{"code": c, "value": values.get(c, "")} for c in codes]
        spdx = r.get("spdx", "-")
        spdx = "" if spdx in ("-", "—") else spdx
        scancode = (r.get("scancode_key") or "-").split(" ")[0].rstrip(";")
        scancode = "" if scancode in ("-", "—") else scancode
        url = first_url(r.get("hf_identifiers", ""))
        if (
            not url
            and spdx
            and not spdx.startswith("LicenseRef")
            and spdx not in ("NOASSERTION", "NONE")
        ):
            url = f"https://spdx.org/licenses/{spdx}.html"
        elif not url and scancode:
            url = f"https://scancode-licensedb.aboutcode.org/{scancode}.html"
        family, version = family_version(key)
        aliases = sorted(
            {normalise_name(a) for a in ALIASES.get(key, [])}
            | {normalise_name(key)}
            | ({normalise_name(canonical)} if canonical != key else set())
        )
        licenses.append(
            {
                "key": key,
                "canonical_key": canonical,
                "hub_id": key if key in hub else "",
                "name": hub.get(key) or NAMES.get(key) or key,
                "family": family,
                "version": version,
                "spdx": spdx,
                "scancode_key": scancode,
                "url": url,
                "verdict": verdict,
                "conditions": conditions,
                "verified": verified,
                "placeholder": key in PLACEHOLDERS,
                "clause": r.get("quote") or clauses.get(canonical) or STANDARD_CLAUSES.get(key, ""),
                "source": r.get("source", ""),
                "hf_identifiers": r.get("hf_identifiers", ""),
                "aliases": aliases,
                "links": LINKS.get(key, []),
                "texts": texts_by_key.get(key, []),
                "obligations": obligations,
            }
        )
        seen_keys.add(key)
    for ident, full in hub.items():
        if ident in seen_keys:
            continue
        # A Hub id named only inside another row's identifiers (openmdw-1.1 in openmdw-1.0's row)
        # shares that row's reading, under its own key.
        host = next(
            (
                lic
                for lic in licenses
                if re.search(rf"(^|[;\s]){re.escape(ident)}($|[;\s])", lic["hf_identifiers"])
            ),
            None,
        )
        if host is None:
            raise SystemExit(f"Hub id {ident} ({full}) has no row in licenses.tsv")
        family, version = family_version(ident)
        licenses.append(
            {
                **host,
                "key": ident,
                "hub_id": ident,
                "name": full,
                "family": family,
                "version": version,
                "aliases": [normalise_name(ident)],
                "links": [],
                "texts": [],
                "spdx": "",
                "scancode_key": "",
                "url": "",
                "source": host["source"] + f" (row {host['key']}, same terms)",
            }
        )
    unknown = set(OBLIGATIONS) - seen_keys
    if unknown:
        raise SystemExit(f"obligations for keys the knowledge base lacks: {sorted(unknown)}")
    licenses.sort(key=lambda lic: lic["key"])
    return {
        "generated_by": "licenses/build_kb.py",
        "inputs": [
            "docs/licenses.tsv",
            "docs/hub-license-ids.tsv",
            "docs/licenses.md",
            "hub-snapshot/license-texts/",
        ],
        "conditions": {
            c: {"label": label, "kind": kind} for c, (label, kind) in CONDITIONS.items()
        },
        "licenses": licenses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=str(HERE.parent.parent / "shared"))
    args = parser.parse_args()
    kb = build(Path(args.shared))
    out = DATA / "licenses.json"
    out.write_text(json.dumps(kb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{out}: {len(kb['licenses'])} licenses, {len(list(TEXTS.glob('*__*')))} texts")


if __name__ == "__main__":
    main()

"""Break session on the layers refactoring (5ac63f3, catalog's read side moved to portal):
what it changed that callers can see, and gaps found on the way."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The operationIds of /api/v1/openapi.json at bf0f4e4, the commit before the move. django-ninja
# derives them from the view's module ("catalog.api" -> "catalog_api_..."), so moving the API
# root into portal renamed the three model endpoints; clients generated from the schema
# (openapi-generator and the like name their methods after operationId) break.
OPERATION_IDS_BEFORE = {
    ("/api/v1/models", "get"): "catalog_api_list_models",
    ("/api/v1/models/{repo_id}", "get"): "catalog_api_get_model",
    ("/api/v1/models/{repo_id}/lineage", "get"): "catalog_api_model_lineage",
}


@pytest.mark.django_db
def test_break_the_model_endpoints_keep_their_openapi_operation_ids(client):
    schema = client.get("/api/v1/openapi.json").json()
    ids = {(path, method): op["operationId"]
           for path, ops in schema["paths"].items() for method, op in ops.items()}  # fmt: skip
    assert {k: ids.get(k) for k in OPERATION_IDS_BEFORE} == OPERATION_IDS_BEFORE


def _lint(tree: Path) -> subprocess.CompletedProcess:
    lint = Path(sys.executable).parent / "lint-imports"
    return subprocess.run([str(lint)], cwd=tree, capture_output=True, text=True, timeout=300)


@pytest.fixture
def tree(tmp_path) -> Path:
    """A copy of the code the contracts read, to add an import to."""
    for name in ("catalog", "licenses", "approvals", "portal", "config", "hubreplay"):
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__", "data", "*.gz"))  # fmt: skip
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_break_the_copy_is_what_lint_imports_reads(tree):
    # The control: an upward import inside a function of the copy is caught, so the copy (not
    # the installed checkout) is what the contracts read.
    with open(tree / "catalog" / "bulk.py", "a") as f:
        f.write("\n\ndef _probe():\n    from portal import searchindex  # noqa: F401\n")
    out = _lint(tree)
    assert out.returncode != 0 and "catalog.bulk -> portal.searchindex" in out.stdout


def test_break_config_package_itself_is_under_the_helpers_contract(tree):
    """config/__init__.py runs on every `import config.<helper>` (catalog imports config.celery,
    config.fragments, config.inputs...), so an app imported there is imported by every layer.
    The contract "config's helpers import no app" names config.celery, config.errors, ... one by
    one, and not the package module `config` itself: this goes unnoticed (3 kept, 0 broken)."""
    with open(tree / "config" / "__init__.py", "a") as f:
        f.write("\nfrom approvals import audit  # noqa: E402,F401\n")
    out = _lint(tree)
    assert out.returncode != 0, out.stdout[-600:]

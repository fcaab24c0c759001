"""The catalog is below approvals: none of its modules imports approvals at module level (the
model page's approval actions come through catalog.actions, which approvals registers with).
catalog/api.py is the exception: it holds the one NinjaAPI of /api/v1/ and mounts every app's
router. (The catalog's search and facets do read licenses.models today; that is older.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CATALOG = Path(__file__).resolve().parents[2] / "catalog"
ABOVE = ("approvals",)
API_ROOT = CATALOG / "api.py"


def _top_level_imports(path: Path) -> list[str]:
    names = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize(
    "path", sorted(p for p in CATALOG.rglob("*.py") if p != API_ROOT), ids=lambda p: p.name
)
def test_the_catalog_does_not_import_the_apps_above_it(path):
    above = [n for n in _top_level_imports(path) if n.split(".")[0] in ABOVE]
    assert above == [], f"{path.relative_to(CATALOG.parent)} imports {above}"


def test_the_approval_actions_reach_the_model_page_through_the_registry():
    from approvals import actions as approval_actions
    from catalog import actions

    assert approval_actions.for_model in actions._providers

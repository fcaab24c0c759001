""".env.example lists every environment variable the application reads, and nothing else.

Read from the source, not from a running process: every `os.environ.get("X")`,
`os.environ["X"]`, `os.environ.setdefault("X", ...)`, `"X" in os.environ` and `os.getenv("X")`,
and every call with a literal name to a helper that reads the variable its parameter names
(settings' `env_bool("X")`, `env_int`, `env_list`, ...).
"""

import ast
import re
from collections.abc import Collection
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The application: settings, gunicorn and the apps' code (their management commands read a few).
PACKAGES = ("config", "catalog", "licenses", "approvals")
# Python's entry points set it to the one settings module there is: not configuration.
NOT_SETTINGS = {"DJANGO_SETTINGS_MODULE"}
LISTED = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=")
READERS = {"os.environ.get", "os.environ.setdefault", "os.getenv"}


def _key_of_read(node: ast.AST, helpers: Collection[str] = ()) -> ast.expr | None:
    """The key expression of an environment read, None when the node is not one."""
    if isinstance(node, ast.Call) and node.args:
        called = ast.unparse(node.func)
        return node.args[0] if called in READERS or called in helpers else None
    if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
        return node.slice
    if isinstance(node, ast.Compare) and [ast.unparse(c) for c in node.comparators] == [
        "os.environ"
    ]:
        return node.left
    return None


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def reads(tree: ast.Module, where: str) -> set[str]:
    """The names a module reads; fails on a read whose name the source does not spell out."""
    # A helper reads the variable its first parameter names: env_int(name, default).
    helpers = set()
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef) and fn.args.args:
            param = fn.args.args[0].arg
            for node in ast.walk(fn):
                key = _key_of_read(node)
                if isinstance(key, ast.Name) and key.id == param:
                    helpers.add(fn.name)
    # A helper may call another (env_optional_int calls env_int) with its own parameter.
    names = set()
    for node in ast.walk(tree):
        key = _key_of_read(node, helpers)
        if key is None:
            continue
        name = _literal(key)
        if name is None:
            assert isinstance(key, ast.Name) and _inside_helper(tree, node, helpers), (
                f"{where}:{node.lineno} reads an environment variable by a name the source does "
                "not spell out: read it by its literal name, so .env.example can be checked"
            )
            continue
        names.add(name)
    return names


def _inside_helper(tree: ast.Module, target: ast.AST, helpers: set[str]) -> bool:
    return any(
        isinstance(fn, ast.FunctionDef) and fn.name in helpers and target in ast.walk(fn)
        for fn in ast.walk(tree)
    )


def read_by_the_application() -> dict[str, str]:
    """name -> the first file that reads it."""
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            where = str(path.relative_to(ROOT))
            if "/migrations/" in where:
                continue
            for name in reads(ast.parse(path.read_text(), where), where):
                found.setdefault(name, where)
    return found


def listed() -> list[tuple[str, int]]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    out = []
    for i, line in enumerate(lines):
        if m := LISTED.match(line):
            out.append((m.group(1), i))
    return out


def test_every_variable_read_is_in_env_example_and_nothing_else():
    read = read_by_the_application()
    names = {name for name, _ in listed()}
    missing = {name: where for name, where in read.items() if name not in names | NOT_SETTINGS}
    assert not missing, f"read but not in .env.example (add it with a comment): {missing}"
    stale = names - set(read)
    assert not stale, f"in .env.example but read by nothing: {sorted(stale)}"


def test_the_settings_helpers_are_seen():
    """The helpers settings reads most variables through count: DJANGO_DEBUG goes through
    env_bool, CANOPY_HUB_API_BUDGET through env_optional_int, DJANGO_ALLOWED_HOSTS env_list."""
    read = read_by_the_application()
    for name in ("DJANGO_DEBUG", "CANOPY_HUB_API_BUDGET", "DJANGO_ALLOWED_HOSTS", "CANOPY_QUEUE"):
        assert read.get(name) == "config/settings.py", name
    assert read.get("WEB_CONCURRENCY") == "config/gunicorn.py"


def test_a_read_by_an_unseen_name_fails():
    source = "import os\nPREFIX = 'CANOPY_'\nX = os.environ.get(PREFIX + 'X')\n"
    with pytest.raises(AssertionError, match="example.py:3"):
        reads(ast.parse(source), "example.py")


def test_each_variable_has_a_comment():
    """Every listed variable sits under a comment: directly, or in a group that starts with one."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    for name, i in listed():
        j = i - 1
        while j >= 0 and LISTED.match(lines[j]):
            j -= 1
        assert j >= 0 and lines[j].startswith("# ") and not lines[j].startswith("# ---"), name

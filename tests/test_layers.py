"""The layers, from the bottom: catalog, licenses, approvals, the read side (portal). The
contracts are import-linter's (pyproject.toml, run by `make lint`); here they run with the suite,
and the hooks through which a lower layer tells a higher one are in place."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_no_layer_imports_a_layer_above_it():
    lint = Path(sys.executable).parent / "lint-imports"
    out = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_the_layers_above_subscribe_to_what_the_layers_below_announce():
    from approvals import actions as approval_actions
    from approvals import forms as approval_forms
    from catalog import actions
    from catalog.signals import bulk_written, models_derived
    from licenses.models import Determination, ModelLicense
    from licenses.signals import assessed, determination_recorded, states_written
    from portal import search

    assert approval_actions.for_model in actions._providers  # the model page's actions
    assert approval_forms._suggesters[-1] is search.repo_suggestions  # the picker's ranking
    assert models_derived.has_listeners() and bulk_written.has_listeners()
    assert states_written.has_listeners(ModelLicense) and assessed.has_listeners()
    assert determination_recorded.has_listeners(Determination)  # the audit log

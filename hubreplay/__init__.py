"""hubreplay: a local HTTP server imitating the Hugging Face Hub API from snapshot files."""

from .index import build_states, derived_sha
from .server import FAULT_KINDS, ReplayServer

__all__ = ["FAULT_KINDS", "ReplayServer", "build_states", "derived_sha"]

"""hubreplay: a local HTTP server imitating the Hugging Face Hub API from snapshot files."""

from .index import build_states, derived_sha
from .server import ReplayServer

__all__ = ["ReplayServer", "build_states", "derived_sha"]

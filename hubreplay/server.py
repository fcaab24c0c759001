"""HTTP server imitating the Hugging Face Hub API from `hub-snapshot/1` files."""

from __future__ import annotations

import base64
import collections
import contextlib
import hashlib
import json
import math
import random
import socket
import sqlite3
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote

from . import moves
from .index import DATASETS, KINDS, MODELS, RELATIONS, SORT_KEYS, RepoKind, build_states, db_text

# The Hub's moves of its legacy un-namespaced models into organisations (hubreplay.moves).
CANONICAL_MOVES = moves.load()

EXPAND_MODEL = (
    "author", "baseModels", "cardData", "childrenModelCount", "config", "createdAt", "disabled",
    "downloads", "downloadsAllTime", "evalResults", "gated", "gguf", "inference",
    "inferenceProviderMapping", "lastModified", "library_name", "likes", "mask_token",
    "model-index", "pipeline_tag", "private", "resourceGroup", "safetensors", "sha", "siblings",
    "spaces", "tags", "transformersInfo", "trendingScore", "usedStorage", "widgetData",
)  # fmt: skip
DETAIL_ONLY = ("baseModels", "childrenModelCount", "usedStorage")
EXPAND_LIST = tuple(e for e in EXPAND_MODEL if e not in DETAIL_ONLY)
EXPAND_DATASET = (
    "author", "cardData", "citation", "createdAt", "description", "disabled", "downloads",
    "downloadsAllTime", "gated", "lastModified", "likes", "mainSize", "paperswithcode_id",
    "private", "resourceGroup", "sha", "siblings", "tags", "trendingScore", "usedStorage",
)  # fmt: skip
# Per kind: the expand names of a listing and of one repo, and the keys `full=true` leaves out
# unless asked for by name (models: `cardData=true`, `config=true`; datasets: none).
EXPAND = {MODELS: (EXPAND_LIST, EXPAND_MODEL), DATASETS: (EXPAND_DATASET, EXPAND_DATASET)}
FULL_OPTIONAL = {MODELS: ("cardData", "config"), DATASETS: ()}
SORT_ALIASES = {
    "downloads": "downloads",
    "likes": "likes",
    "createdAt": "createdAt",
    "created_at": "createdAt",
    "lastModified": "lastModified",
    "last_modified": "lastModified",
    "trendingScore": "trendingScore",
    "trending_score": "trendingScore",
    "trending": "trendingScore",
}
DEFAULT_SORT = "downloads"
TAG_DRIVE_MAX = 50_000
UNLIMITED_QUOTA = 1_000_000_000
# Injected faults (set_faults(kinds=...)): what a Hub or the network between can do to an answer.
FAULT_STATUS = {"429": 429, "500": 500, "502": 502, "503": 503}
FAULT_KINDS = (*FAULT_STATUS, "slow", "reset", "truncate", "truncate_file")
GATED_MSG = (
    "Access to model {id} is restricted. You must have access to it and be authenticated to "
    "access it."
)


class HttpError(Exception):
    def __init__(self, status: int, error: str, code: str | None = None, headers=None):
        super().__init__(error)
        self.status = status
        self.error = error
        self.code = code
        self.headers = dict(headers or {})


class RateLimiter:
    """Fixed-window budgets for the `api` and `resolvers` buckets."""

    def __init__(self, api=None, resolvers=None, window=300):
        self.lock = threading.Lock()
        self.configure(api, resolvers, window)

    def configure(self, api, resolvers, window):
        with self.lock:
            self.budgets = {"api": api, "resolvers": resolvers}
            self.window = max(1, int(window))
            self.start: dict[str, float | None] = {"api": None, "resolvers": None}
            self.used = {"api": 0, "resolvers": 0}
            # Every request that arrived (answered, refused or faulted) per window: a client
            # that keeps to its budget never makes `peak` exceed the quota.
            self.arrived = {"api": 0, "resolvers": 0}
            self.peak = {"api": 0, "resolvers": 0}
            self.total = {"api": 0, "resolvers": 0}

    def take(self, bucket: str, consume: bool = True):
        """Return (allowed, headers)."""
        with self.lock:
            now = time.monotonic()
            start = self.start[bucket]
            if start is None or now >= start + self.window:
                start = self.start[bucket] = now
                self.used[bucket] = 0
                self.arrived[bucket] = 0
            budget = self.budgets[bucket]
            quota = UNLIMITED_QUOTA if budget is None else budget
            allowed = True
            if consume:
                self.arrived[bucket] += 1
                self.total[bucket] += 1
                self.peak[bucket] = max(self.peak[bucket], self.arrived[bucket])
                if self.used[bucket] >= quota:
                    allowed = False
                else:
                    self.used[bucket] += 1
            remaining = max(0, quota - self.used[bucket])
            reset = max(1, math.ceil(start + self.window - now))
            headers = {
                "RateLimit": f'"{bucket}";r={remaining};t={reset}',
                "RateLimit-Policy": f'"fixed window";"{bucket}";q={quota};w={self.window}',
            }
            if not allowed:
                headers["Retry-After"] = str(reset)
            return allowed, headers

    def stats(self) -> dict:
        with self.lock:
            return {
                bucket: {
                    "quota": self.budgets[bucket],
                    "window": self.window,
                    "max_per_window": self.peak[bucket],
                    "this_window": self.arrived[bucket],
                    "requests": self.total[bucket],
                }
                for bucket in self.budgets
            }


def _b64e(obj) -> str:
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _int64(n: object) -> bool:
    return isinstance(n, int) and -(2**63) <= n < 2**63


def _b64d(s: str):
    s = s + "=" * (-len(s) % 4)
    return json.loads(base64.urlsafe_b64decode(s.encode()).decode())


def _record(text: str) -> dict | None:
    """A stored record parsed, or None when Python's parser refuses valid JSON (an integer over
    4,300 digits, deep nesting): such a record is served whole, its bytes as the snapshot has
    them (the threads of the server share no raised limits)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _json(obj) -> str:
    """JSON text of a record, UTF-8 as the Hub sends it; lone surrogates (valid in JSON, not
    encodable in UTF-8) stay \\u escapes, as in the snapshot."""
    text = json.dumps(obj, ensure_ascii=False)
    return text if db_text(text) is text else json.dumps(obj)


def _truthy(v: str | None) -> bool:
    return v is not None and v.lower() in ("1", "true", "yes")


class ReplayServer:
    """Replay server.  `states` is a list of lists of snapshot files; state k = layers 0..k."""

    def __init__(
        self,
        states,
        port: int = 0,
        api_budget: int | None = None,
        resolvers_budget: int | None = None,
        window: int = 300,
        delay_ms: int = 0,
        index_dir=None,
        host: str = "127.0.0.1",
        page_size_cap: int = 1000,
        accept_token: str | None = None,
        verbose: bool = False,
        log_size: int = 100_000,
        datasets=(),
    ):
        if states and isinstance(states[0], (str, Path)):
            states = [states]
        self.layers = [[str(f) for f in layer] for layer in states]
        self.datasets = [str(f) for f in datasets]
        if not self.layers:
            raise ValueError("at least one state (list of files) is needed")
        self.host = host
        self.port = port
        self.index_dir = index_dir
        self.page_size_cap = max(1, int(page_size_cap))
        self.delay_ms = delay_ms
        self.accept_token = accept_token
        self.verbose = verbose
        self.limiter = RateLimiter(api_budget, resolvers_budget, window)
        self.request_log: collections.deque = collections.deque(maxlen=log_size)
        self.db_paths: list[str] | None = None
        self.counts: list[dict] = []
        self.state = 0
        self._fault_status = 500
        self._fault_every: int | None = None
        self._fault_rate: float | None = None
        self._fault_kinds: tuple[str, ...] = ()
        self._fault_seed = 0
        self._fault_seen: collections.Counter = collections.Counter()
        self._fault_n = 0
        self._fault_lock = threading.Lock()
        self.slow_seconds = 3.0
        self.retry_after = 1
        self.fault_counts: collections.Counter = collections.Counter()
        self._tag_counts: dict = {}
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url: str | None = None

    # -- setup ---------------------------------------------------------------------------
    def build(self, log=None) -> list[str]:
        if self.db_paths is None:
            self.db_paths = build_states(
                self.layers, self.index_dir, log=log, datasets=self.datasets
            )
            self.counts = []
            for p in self.db_paths:
                con = self.connect(p)
                meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
                con.close()
                self.counts.append({
                    "models": int(meta.get("models", 0)),
                    "aliases": int(meta.get("aliases", 0)),
                    "datasets": int(meta.get("datasets", 0)),
                })  # fmt: skip
        return self.db_paths

    @staticmethod
    def connect(path: str) -> sqlite3.Connection:
        uri = "file:" + quote(str(Path(path).resolve())) + "?mode=ro&immutable=1"
        return sqlite3.connect(uri, uri=True, check_same_thread=False)

    def make_httpd(self) -> _HTTPServer:
        self.build()
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.replay = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self.url = f"http://{self.host}:{self.port}"
        return httpd

    def start(self) -> ReplayServer:
        httpd = self.make_httpd()
        self._thread = threading.Thread(target=httpd.serve_forever, name="hubreplay", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self):
        httpd = self._httpd if self._httpd is not None else self.make_httpd()
        httpd.serve_forever()

    def stop(self):
        """Stop serving: the port closes and so do open connections (start() opens it again)."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd.drop_connections()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- runtime controls ----------------------------------------------------------------
    @property
    def num_states(self) -> int:
        return len(self.layers)

    def set_state(self, n: int):
        if not 0 <= int(n) < len(self.layers):
            raise ValueError(f"state must be in 0..{len(self.layers) - 1}")
        self.state = int(n)

    def set_budget(self, api: int | None = None, resolvers: int | None = None, window=None):
        """Reconfigure the rate limit (None = unlimited; window None = keep) and reset counters."""
        self.limiter.configure(api, resolvers, self.limiter.window if window is None else window)

    def set_faults(
        self,
        status: int = 500,
        every: int | None = None,
        rate: float | None = None,
        seed: int = 0,
        kinds=None,
        slow_seconds: float = 3.0,
        retry_after: int = 1,
    ):
        """Fault every `every`-th request, or each with probability `rate`; None/0 turns it off.

        Without `kinds`: answer `status` on API requests only. With `kinds` (names from
        FAULT_KINDS), API and file requests alike get one of the kinds that fit the request,
        chosen, like whether it is faulted at all, from (seed, method, path, how many times this
        exact request came before): the same seed faults the same requests whatever the order
        in which concurrent clients send them, and a retry is drawn afresh.
        """
        unknown = set(kinds or ()) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")
        with self._fault_lock:
            self._fault_status = status
            self._fault_every = every or None
            self._fault_rate = rate or None
            self._fault_kinds = tuple(kinds or ())
            self._fault_seed = seed
            self._fault_seen.clear()
            self._fault_n = 0
            self.slow_seconds = float(slow_seconds)
            self.retry_after = max(1, int(retry_after))
            self.fault_counts.clear()

    def _fault(
        self, method: str = "GET", path: str = "", bucket: str = "api"
    ) -> tuple[str | None, bool]:
        """The fault for this request ("500", "reset", ...) or None to answer it normally, and
        for a truncation whether the cut body goes with its own Content-Length (else the whole
        body's, then the connection closes)."""
        with self._fault_lock:
            if not self._fault_every and not self._fault_rate:
                return None, False
            if not self._fault_kinds and bucket != "api":
                return None, False
            self._fault_n += 1
            key = f"{method} {path}"
            seen = self._fault_seen[key]
            self._fault_seen[key] = seen + 1
            draw = random.Random(f"{self._fault_seed}|{key}|{seen}")
            hit = bool(self._fault_every and self._fault_n % self._fault_every == 0)
            hit = hit or bool(self._fault_rate and draw.random() < self._fault_rate)
            if not hit:
                return None, False
            if not self._fault_kinds:
                kind = str(self._fault_status)
            else:
                fits = [k for k in self._fault_kinds if _fits(k, method, bucket)]
                if not fits:
                    return None, False
                kind = fits[draw.randrange(len(fits))]
            self.fault_counts[kind] += 1
            return kind, draw.random() < 0.5

    @property
    def stats(self) -> dict:
        """Requests per bucket (with the most seen in one rate-limit window) and faults made."""
        with self._fault_lock:
            faults = dict(self.fault_counts)
        return {"buckets": self.limiter.stats(), "faults": faults}

    def state_info(self) -> dict:
        c = self.counts[self.state] if self.counts else {}
        return {"state": self.state, "states": len(self.layers), **c}


def _fits(kind: str, method: str, bucket: str) -> bool:
    if kind == "truncate":
        return bucket == "api" and method == "GET"
    if kind == "truncate_file":
        return bucket == "resolvers" and method == "GET"
    return True


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    replay: ReplayServer

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.open_connections: set = set()

    def get_request(self):
        sock, addr = super().get_request()
        self.open_connections.add(sock)
        return sock, addr

    def shutdown_request(self, request):
        self.open_connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self):
        """Close every open connection, keep-alive ones included, as a dying server would."""
        for sock in list(self.open_connections):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hubreplay"
    # Headers and body leave in separate writes; without this, Nagle + delayed ACK add 40 ms.
    disable_nagle_algorithm = True
    sys_version = ""
    server: _HTTPServer

    # -- plumbing ------------------------------------------------------------------------
    def setup(self):
        super().setup()
        self._cons: dict[int, sqlite3.Connection] = {}

    def finish(self):
        try:
            super().finish()
        finally:
            for c in self._cons.values():
                c.close()
            self._cons.clear()

    def log_message(self, format, *args):  # noqa: A002
        if self.server.replay.verbose:
            sys.stderr.write(f"hubreplay: {self.address_string()} {format % args}\n")

    def db(self) -> sqlite3.Connection:
        k = self._state
        con = self._cons.get(k)
        if con is None:
            paths = self.server.replay.db_paths
            assert paths is not None  # make_httpd() builds the states before serving anything
            con = self._cons[k] = self.server.replay.connect(paths[k])
        return con

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method: str):
        rp = self.server.replay
        self._method = method
        self._state = rp.state
        self._extra_headers: dict[str, str] = {}
        self._logged = False
        self._truncate = self._cut_length = False
        self._injected = 0
        raw = self.path
        if raw.startswith("http://") or raw.startswith("https://"):
            raw = "/" + raw.split("/", 3)[3] if raw.count("/") >= 3 else "/"
        path, _, query = raw.partition("?")
        self._raw_path, self._query = path, query
        self._params = parse_qsl(query, keep_blank_values=True)
        status = 500
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if rp.delay_ms:
                time.sleep(rp.delay_ms / 1000.0)
            if path.startswith("/_replay"):
                _, rl = rp.limiter.take("api", consume=False)
                self._extra_headers.update(rl)
                status = self._replay_control(method, path)
                return
            bucket = "resolvers" if "/resolve/" in path else "api"
            counted = path.startswith("/api/") or bucket == "resolvers"
            allowed, rl = rp.limiter.take(bucket, consume=counted)
            self._extra_headers.update(rl)
            if not allowed:
                status = self._send_json(429, {"error": "You have exceeded our rate limit"})
                return
            fault, self._cut_length = rp._fault(method, raw, bucket) if counted else (None, False)
            self._truncate = fault in ("truncate", "truncate_file")
            if fault and not self._truncate and self._inject(fault, bucket):
                status = self._injected
                return
            if bucket == "resolvers":
                if method == "POST":
                    raise HttpError(405, "Method not allowed")
                status = self._resolve(path)
            elif method == "POST":
                raise HttpError(405, "Method not allowed")
            elif kind := _LIST_PATHS.get(path):
                status = self._list(kind)
            elif kind := _info_kind(path):
                status = self._repo_info(kind, path[len(kind.path) + 1 :])
            elif path == "/api/agent-harnesses":
                status = self._send_json(200, {"standardEnvVars": [], "harnesses": {}})
            else:
                raise HttpError(404, "Sorry, we can't find the page you are looking for.")
        except HttpError as e:
            self._extra_headers.update(e.headers)
            if e.code:
                self._extra_headers["X-Error-Code"] = e.code
            try:
                status = self._send_json(e.status, {"error": e.error})
            except (BrokenPipeError, ConnectionResetError):
                # the client left (a "slow" fault outlasted its timeout): nobody to answer
                status, self.close_connection = 499, True
        except (BrokenPipeError, ConnectionResetError):
            status = 499
            self.close_connection = True
        except Exception as e:  # pragma: no cover - defensive
            status = 500
            with contextlib.suppress(OSError):
                self._send_json(500, {"error": f"Internal error: {type(e).__name__}: {e}"})
            if rp.verbose:
                import traceback

                traceback.print_exc()
        finally:
            if not self._logged:
                rp.request_log.append((method, self.path, status))

    def _inject(self, fault: str, bucket: str) -> bool:
        """Answer (or not) as the fault says; False when the request is to be served after all."""
        rp = self.server.replay
        if fault == "slow":
            # Past the client's read timeout; the late answer then meets a closed socket.
            time.sleep(rp.slow_seconds)
            return False
        if fault == "reset":
            # SO_LINGER 0: close() sends RST instead of FIN, the way a dropped connection looks.
            self.server.replay.request_log.append((self._method, self.path, 0))
            self._logged = True
            self._injected = 0
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
            return True
        status = FAULT_STATUS.get(fault) or int(fault)
        if status == 429:
            reset = rp.retry_after
            quota = rp.limiter.budgets[bucket]
            self._extra_headers.update({
                "RateLimit": f'"{bucket}";r=0;t={reset}',
                "RateLimit-Policy": f'"fixed window";"{bucket}";'
                f"q={UNLIMITED_QUOTA if quota is None else quota};w={rp.limiter.window}",
                "Retry-After": str(reset),
            })  # fmt: skip
            body = {"error": "You have exceeded our rate limit (injected fault)"}
        else:
            body = {"error": "Injected fault"}
        self._injected = self._send_json(status, body)
        return True

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers=None,
        content_length: int | None = None,
    ) -> int:
        # logged before the answer leaves, so a client that got it sees it in request_log
        self.server.replay.request_log.append((self._method, self.path, status))
        self._logged = True
        if content_length is None:
            content_length = len(body)
        if self._truncate and 200 <= status < 300 and self._method == "GET":
            body, content_length = self._cut(body)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(content_length))
        for k, v in self._extra_headers.items():
            self.send_header(k, v)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self._method != "HEAD":
            self.wfile.write(body)
        return status

    def _cut(self, body: bytes) -> tuple[bytes, int]:
        """An injected truncation: half the body, with its own length or the whole body's (the
        connection then closes, as when a proxy or the network drops the rest)."""
        self._truncate = False
        cut = body[: len(body) // 2]
        if self._cut_length:
            return cut, len(cut)
        self.close_connection = True
        return cut, len(body)

    def _send_json(self, status: int, obj, headers=None) -> int:
        body = obj if isinstance(obj, bytes) else _json(obj).encode()
        return self._send(status, body, "application/json; charset=utf-8", headers)

    def _redirect(self, location: str) -> int:
        body = f"Temporary Redirect. Redirecting to {location}".encode()
        return self._send(307, body, "text/plain; charset=utf-8", {"Location": location})

    def _param(self, name: str) -> str | None:
        for k, v in self._params:
            if k == name:
                return v
        return None

    def _params_all(self, *names: str) -> list[str]:
        return [v for k, v in self._params if k in names]

    # -- /_replay ------------------------------------------------------------------------
    def _replay_control(self, method: str, path: str) -> int:
        rp = self.server.replay
        if path == "/_replay/stats" and method == "GET":
            return self._send_json(200, rp.stats)
        if path != "/_replay/state":
            raise HttpError(404, "Unknown replay control")
        if method == "POST":
            n = self._param("n")
            try:
                if n is None:
                    raise ValueError("n is missing")
                rp.set_state(int(n))
            except (TypeError, ValueError):
                raise HttpError(400, f"n must be an integer in 0..{rp.num_states - 1}") from None
            return self._send_json(200, {"state": rp.state})
        return self._send_json(200, rp.state_info())

    # -- lookups ---------------------------------------------------------------------------
    def _lookup(self, repo_id: str, kind: RepoKind = MODELS):
        """Return ('row', row) or ('alias', new_id) or (None, None)."""
        con = self.db()
        row = con.execute(
            f"SELECT rowid, id, _id, sha, gated, json FROM {kind.table} WHERE id=?", (repo_id,)
        ).fetchone()
        if row is not None:
            return "row", row
        a = con.execute(f"SELECT new_id FROM {kind.aliases} WHERE old_id=?", (repo_id,)).fetchone()
        if a is not None:
            return "alias", a[0]
        if kind is MODELS and repo_id in CANONICAL_MOVES:  # gpt2 -> openai-community/gpt2
            return "alias", CANONICAL_MOVES[repo_id]
        return None, None

    def _expand_names(self, allowed: tuple[str, ...]) -> list[str] | None:
        names = self._params_all("expand", "expand[]")
        if not names:
            return None
        out = []
        for n in names:
            for part in n.split(","):
                part = part.strip()
                if not part:
                    continue
                if part not in allowed:
                    raise HttpError(400, '"expand" must be one of [' + ", ".join(allowed) + "]")
                if part not in out:
                    out.append(part)
        return out

    def _tag_count(self, tag: str, kind: RepoKind) -> int:
        cache = self.server.replay._tag_counts
        key = (self._state, kind.name, tag)
        n = cache.get(key)
        if n is None:
            sql = f"SELECT count(*) FROM {kind.tags} WHERE tag = ?"
            n = self.db().execute(sql, (tag,)).fetchone()[0]
            if len(cache) > 50_000:
                cache.clear()
            cache[key] = n
        return n

    # -- GET /api/models, /api/datasets ---------------------------------------------------
    def _list(self, kind: RepoKind) -> int:
        rp = self.server.replay
        con = self.db()
        expand = self._expand_names(EXPAND[kind][0])
        sort_p = self._param("sort")
        if sort_p:
            key = SORT_ALIASES.get(sort_p)
            if key is None:
                raise HttpError(400, '"sort" must be one of [' + ", ".join(SORT_KEYS) + "]")
        else:
            key = DEFAULT_SORT
        limit_p = self._param("limit")
        page = rp.page_size_cap
        if limit_p:
            try:
                page = max(1, min(int(limit_p), rp.page_size_cap))
            except ValueError:
                raise HttpError(400, '"limit" must be a number') from None

        where: list[str] = []
        args: list = []
        # list_datasets sends `search` twice when given `dataset_name` too: each must match.
        for search in dict.fromkeys(s for s in self._params_all("search") if s):
            where.append("instr(lower(id), ?) > 0")
            args.append(search.lower())
        author = self._param("author")
        if author:
            where.append("author = ?")
            args.append(author)
        pipeline = self._param("pipeline_tag")
        if pipeline:
            where.append("pipeline_tag = ?")
            args.append(pipeline)
        gated = self._param("gated")
        if gated is not None and gated != "":
            if _truthy(gated):
                where.append("gated IN ('auto', 'manual', 'true')")
            else:
                where.append("(gated IS NULL OR gated = 'false')")
        tags = list(
            dict.fromkeys(t for f in self._params_all("filter", "other") for t in f.split(",") if t)
        )
        if tags:
            # Drive the query from the rarest tag when it is rare enough; otherwise walk the
            # sort index and probe the (tag, model_rowid) index for each candidate row.
            counts = {t: self._tag_count(t, kind) for t in tags}
            rarest = min(tags, key=counts.__getitem__)
            for tag in tags:
                if tag == rarest and counts[tag] <= TAG_DRIVE_MAX:
                    where.append(f"rowid IN (SELECT model_rowid FROM {kind.tags} WHERE tag = ?)")
                else:
                    where.append(
                        f"EXISTS (SELECT 1 FROM {kind.tags} WHERE tag = ?"
                        f" AND model_rowid = {kind.table}.rowid)"
                    )
                args.append(tag)

        cursor_p = self._param("cursor")
        last = None
        if cursor_p:
            try:
                c = _b64d(cursor_p)
                last = (c["v"], int(c["r"]))
            except Exception:
                raise HttpError(400, "Invalid cursor") from None
            # A cursor is ours only while it holds what we write: a sort value SQLite can bind
            # (None, a string, a 64-bit number) and a 64-bit rowid; a tampered one is the
            # client's mistake, not the server's.
            value, row = last
            if not (value is None or isinstance(value, str | float) or _int64(value)) or not _int64(
                row
            ):
                raise HttpError(400, "Invalid cursor")

        full = _truthy(self._param("full"))
        want_card = _truthy(self._param("cardData"))
        want_config = _truthy(self._param("config"))
        if expand is not None:
            col = "json"
        elif full or want_card or want_config:
            col = "json, flags"
        else:
            col = "COALESCE(list_json, json)"
        base_sql = f"SELECT rowid, {key}, {col} FROM {kind.table}"
        n = page + 1
        rows: list = []

        def run(extra: str, extra_args: list, order: str, lim: int):
            conds = where + [extra]
            sql = f"{base_sql} WHERE {' AND '.join(conds)} ORDER BY {order} LIMIT {lim}"
            rows.extend(con.execute(sql, args + extra_args).fetchall())

        desc = f"{key} DESC, rowid"
        if last is None:
            run(f"{key} IS NOT NULL", [], desc, n)
            if len(rows) < n:
                run(f"{key} IS NULL", [], "rowid", n - len(rows))
        elif last[0] is None:
            run(f"{key} IS NULL AND rowid > ?", [last[1]], "rowid", n)
        else:
            run(f"{key} = ? AND rowid > ?", [last[0], last[1]], "rowid", n)
            if len(rows) < n:
                run(f"{key} < ?", [last[0]], desc, n - len(rows))
            if len(rows) < n:
                run(f"{key} IS NULL", [], "rowid", n - len(rows))

        has_more = len(rows) > page
        rows = rows[:page]
        if expand is not None:
            items = []
            for r in rows:
                rec = _record(r[2])
                if rec is None:
                    items.append(r[2])
                    continue
                item = {"_id": rec["_id"]} if "_id" in rec else {}
                item["id"] = rec["id"]
                for e in expand:
                    if e in rec:
                        item[e] = rec[e]
                items.append(_json(item))
        elif full or want_card or want_config:
            items = []
            for r in rows:
                rec = _record(r[2])
                if rec is None:
                    items.append(r[2])
                    continue
                asked = {"cardData": want_card, "config": want_config}
                if not full:
                    base = {k: rec[k] for k in kind.list_keys if k in rec}
                    for k, flag in asked.items():
                        if flag and k in rec:
                            base[k] = rec[k]
                    rec = base
                else:
                    for k in FULL_OPTIONAL[kind]:
                        if not asked[k]:
                            rec.pop(k, None)
                items.append(_json(rec))
        else:
            items = [r[2] for r in rows]
        body = ("[" + ",".join(items) + "]").encode()
        headers = {}
        if has_more and rows:
            lr = rows[-1]
            cur = _b64e({"v": lr[1], "r": lr[0]})
            kept = [p for p in self._query.split("&") if p and not p.startswith("cursor=")]
            kept.append("cursor=" + quote(cur, safe=""))
            host = self.headers.get("Host") or f"{rp.host}:{rp.port}"
            headers["Link"] = f'<http://{host}{kind.path}?{"&".join(kept)}>; rel="next"'
        return self._send(200, body, "application/json; charset=utf-8", headers)

    # -- GET /api/models/{id}[/revision/{rev}], /api/datasets/... --------------------------
    def _repo_info(self, kind: RepoKind, rest: str) -> int:
        parts = rest.split("/")
        rev = None
        if len(parts) >= 4 and parts[2] == "revision":
            repo_parts, rev, tail = parts[:2], unquote("/".join(parts[3:])), None
        elif len(parts) == 3 and parts[1] == "revision":
            repo_parts, rev, tail = parts[:1], unquote(parts[2]), None
        elif len(parts) <= 2:
            repo_parts, tail = parts, None
        else:
            raise HttpError(404, "Sorry, we can't find the page you are looking for.")
        repo_id = "/".join(unquote(p) for p in repo_parts)
        del tail
        expand = self._expand_names(EXPAND[kind][1])
        found, row = self._lookup(repo_id, kind)
        if found == "alias":
            loc = f"{kind.path}/{row}"
            if rev is not None:
                loc += "/revision/" + quote(rev, safe="")
            if self._query:
                loc += "?" + self._query
            return self._redirect(loc)
        if found is None:
            raise HttpError(404, "Repository not found", "RepoNotFound")
        rowid, mid, _id, sha, gated, js = row
        if rev is not None and rev not in ("main", sha):
            raise HttpError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        if expand is None:
            return self._send(200, js.encode(), "application/json; charset=utf-8")
        rec = _record(js)
        if rec is None:
            return self._send(200, js.encode(), "application/json; charset=utf-8")
        item = {"_id": rec["_id"]} if "_id" in rec else {}
        item["id"] = rec["id"]
        for e in expand:
            if e == "baseModels" and kind is MODELS:
                bm = self._base_models(rec)
                if bm is not None:
                    item[e] = bm
            elif e == "childrenModelCount" and kind is MODELS:
                item[e] = self._children_count(mid)
            elif e in rec:
                item[e] = rec[e]
        return self._send_json(200, item)

    def _parent_ref(self, pid: str) -> dict:
        con = self.db()
        r = con.execute("SELECT _id FROM models WHERE id=?", (pid,)).fetchone()
        if r is None:
            a = con.execute("SELECT new_id FROM aliases WHERE old_id=?", (pid,)).fetchone()
            if a is not None:
                r = con.execute("SELECT _id FROM models WHERE id=?", (a[0],)).fetchone()
        out = {}
        if r is not None and r[0] is not None:
            out["_id"] = r[0]
        out["id"] = pid
        return out

    def _base_models(self, rec: dict):
        listed = rec.get("tags")
        tags = [t for t in listed if isinstance(t, str)] if isinstance(listed, list) else []
        typed: list[tuple[str, str]] = []
        plain: list[str] = []
        for t in tags:
            if not t.startswith("base_model:"):
                continue
            rest = t[len("base_model:") :]
            rel, sep, target = rest.partition(":")
            if sep and rel in RELATIONS and target:
                typed.append((rel, target))
            elif not sep and rest:
                plain.append(rest)
        if typed:
            relation = typed[0][0]
            ids = list(dict.fromkeys(t for _, t in typed))
        elif plain:
            card_data = rec.get("cardData")
            card = card_data if isinstance(card_data, dict) else {}
            declared = card.get("base_model_relation")
            relation = (
                declared if isinstance(declared, str) and declared in RELATIONS else "finetune"
            )
            ids = list(dict.fromkeys(plain))
        else:
            return None
        return {"relation": relation, "models": [self._parent_ref(i) for i in ids]}

    def _children_count(self, mid: str) -> dict:
        con = self.db()
        names = [mid] + [
            r[0] for r in con.execute("SELECT old_id FROM aliases WHERE new_id=?", (mid,))
        ]
        out: dict[str, int] = {}
        typed_tags = [f"base_model:{rel}:{n}" for rel in RELATIONS for n in names]
        for rel in RELATIONS:
            tl = [f"base_model:{rel}:{n}" for n in names]
            q = ",".join("?" * len(tl))
            c = con.execute(
                f"SELECT count(DISTINCT model_rowid) FROM tags WHERE tag IN ({q})", tl
            ).fetchone()[0]
            if c:
                out[rel] = c
        pl = [f"base_model:{n}" for n in names]
        q1 = ",".join("?" * len(pl))
        q2 = ",".join("?" * len(typed_tags))
        plain_only = con.execute(
            f"SELECT count(DISTINCT t.model_rowid) FROM tags t WHERE t.tag IN ({q1}) AND NOT EXISTS"
            f" (SELECT 1 FROM tags t2 WHERE t2.tag IN ({q2}) AND t2.model_rowid = t.model_rowid)",
            pl + typed_tags,
        ).fetchone()[0]
        if plain_only:
            out["finetune"] = out.get("finetune", 0) + plain_only
        return out

    # -- HEAD/GET /{id}/resolve/{rev}/{path} ------------------------------------------------
    def _resolve(self, path: str) -> int:
        rp = self.server.replay
        before, _, after = path.partition("/resolve/")
        repo_id = unquote(before.lstrip("/"))
        rev_q, _, file_q = after.partition("/")
        rev, fname = unquote(rev_q), unquote(file_q)
        if repo_id.startswith(("datasets/", "spaces/")) or not repo_id or not fname:
            raise HttpError(404, "Repository not found", "RepoNotFound")
        kind, row = self._lookup(repo_id)
        if kind == "alias":
            loc = f"/{row}/resolve/{rev_q}/{file_q}"
            if self._query:
                loc += "?" + self._query
            return self._redirect(loc)
        if kind is None:
            raise HttpError(404, "Repository not found", "RepoNotFound")
        rowid, mid, _id, sha, gated, _js = row
        if gated in ("auto", "manual", "true"):
            auth = self.headers.get("Authorization") or ""
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
            if not token or (rp.accept_token is not None and token != rp.accept_token):
                msg = GATED_MSG.format(id=mid)
                raise HttpError(401, msg, "GatedRepo", {"X-Error-Message": msg})
        if rev not in ("main", sha):
            raise HttpError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        commit = {"X-Repo-Commit": sha}
        r = (
            self.db()
            .execute("SELECT text FROM files WHERE model_rowid=? AND name=?", (rowid, fname))
            .fetchone()
        )
        if r is None:
            raise HttpError(404, "Entry not found", "EntryNotFound", commit)
        data = r[0] if isinstance(r[0], bytes) else r[0].encode("utf-8")
        etag = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        headers = {**commit, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
        rng = self.headers.get("Range")
        status = 200
        if rng and rng.startswith("bytes="):
            spec = rng[6:].split(",")[0].strip()
            a, _, b = spec.partition("-")
            try:
                if a == "":
                    start, end = max(0, len(data) - int(b)), len(data) - 1
                else:
                    start = int(a)
                    end = min(int(b), len(data) - 1) if b else len(data) - 1
            except ValueError:
                start, end = 0, len(data) - 1
            if start >= len(data) and len(data) > 0:
                headers["Content-Range"] = f"bytes */{len(data)}"
                return self._send(416, b"", "text/plain; charset=utf-8", headers)
            if not (start == 0 and end == len(data) - 1):
                headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
                data = data[start : end + 1]
                status = 206
        return self._send(status, data, "text/plain; charset=utf-8", headers)


_LIST_PATHS = {k.path: k for k in KINDS}


def _info_kind(path: str) -> RepoKind | None:
    return next((k for k in KINDS if path.startswith(k.path + "/")), None)

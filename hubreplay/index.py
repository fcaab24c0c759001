"""SQLite index of `hub-snapshot/1` files (one database file per replay state).

A state is built once and cached in the index directory under a name derived from the files'
paths, sizes and mtimes, the state number and FORMAT_VERSION.  State 0 is built from its files;
state k is a copy of state k-1 with the files of layer k applied on top.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

FORMAT_VERSION = "hubreplay-index/5"

# Keys of the default GET /api/models item, in the Hub's order.
LIST_KEYS = (
    "_id",
    "id",
    "likes",
    "trendingScore",
    "private",
    "downloads",
    "tags",
    "pipeline_tag",
    "library_name",
    "createdAt",
    "modelId",
)
# Keys of the default GET /api/datasets item, in the Hub's order (a record lacking one has none).
DATASET_LIST_KEYS = (
    "_id",
    "id",
    "author",
    "cardData",
    "sha",
    "lastModified",
    "private",
    "gated",
    "disabled",
    "likes",
    "trendingScore",
    "tags",
    "citation",
    "description",
    "downloads",
    "paperswithcode_id",
    "createdAt",
    "key",
)
SORT_KEYS = ("downloads", "likes", "createdAt", "lastModified", "trendingScore")
RELATIONS = ("adapter", "finetune", "merge", "quantized")

FLAG_CARD_OR_CONFIG = 1


@dataclass(frozen=True)
class RepoKind:
    """A kind of Hub repo and its tables in an index: models and datasets are indexed, layered,
    filtered, paged and served by the same code, each in tables of its own."""

    name: str  # "model", "dataset": the meta counts and the /api/<name>s path
    table: str
    tags: str
    files: str
    aliases: str
    list_keys: tuple[str, ...]
    # scalar keys a `filter` value also matches, as the Hub does for models
    filter_keys: tuple[str, ...]

    @property
    def path(self) -> str:
        return f"/api/{self.table}"


MODELS = RepoKind(
    "model", "models", "tags", "files", "aliases", LIST_KEYS, ("library_name", "pipeline_tag")
)
DATASETS = RepoKind(
    "dataset",
    "datasets",
    "dataset_tags",
    "dataset_files",
    "dataset_aliases",
    DATASET_LIST_KEYS,
    (),
)
KINDS = (MODELS, DATASETS)

_TABLES = """
CREATE TABLE {table}(
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  _id TEXT,
  author TEXT,
  downloads INT,
  likes INT,
  createdAt TEXT,
  lastModified TEXT,
  trendingScore REAL,
  pipeline_tag TEXT,
  library_name TEXT,
  gated TEXT,
  sha TEXT,
  json TEXT NOT NULL,
  list_json TEXT,
  flags INT NOT NULL DEFAULT 0
);
CREATE INDEX {table}__id ON {table}(_id);
CREATE TABLE {tags}(tag TEXT NOT NULL, model_rowid INT NOT NULL);
CREATE TABLE {files}(model_rowid INT NOT NULL, name TEXT NOT NULL, text TEXT NOT NULL);
CREATE INDEX {files}_by_model ON {files}(model_rowid, name);
CREATE TABLE {aliases}(old_id TEXT PRIMARY KEY, new_id TEXT NOT NULL);
"""
# `model_rowid` is the row of the kind's own table (the models' name, kept for every kind).
SCHEMA = (
    "".join(
        _TABLES.format(table=k.table, tags=k.tags, files=k.files, aliases=k.aliases) for k in KINDS
    )
    + "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);\n"
)


def final_indexes(kind: RepoKind) -> list[str]:
    t = kind.table
    return [
        f"CREATE INDEX IF NOT EXISTS {kind.tags}_by_tag ON {kind.tags}(tag, model_rowid)",
        f"CREATE INDEX IF NOT EXISTS {t}_author ON {t}(author)",
        f"CREATE INDEX IF NOT EXISTS {t}_pipeline ON {t}(pipeline_tag)",
    ] + [f"CREATE INDEX IF NOT EXISTS {t}_sort_{k} ON {t}({k} DESC)" for k in SORT_KEYS]


def default_index_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hubreplay"


INT64_MAX = 2**63 - 1


class _unbounded:
    """No int digit limit and a recursion limit past the text's nesting, restored on exit."""

    def __init__(self, text: str):
        self.limit = max(sys.getrecursionlimit(), text.count("[") + text.count("{") + 1000)

    def __enter__(self):
        self.saved = sys.get_int_max_str_digits(), sys.getrecursionlimit()
        sys.set_int_max_str_digits(0)
        sys.setrecursionlimit(self.limit)

    def __exit__(self, *exc):
        sys.set_int_max_str_digits(self.saved[0])
        sys.setrecursionlimit(self.saved[1])


def derived_sha(model_id: str, date: str | None) -> str:
    """Stable made-up commit sha for records that have none (served in headers only)."""
    return hashlib.sha1((model_id + (date or "")).encode("utf-8", "surrogatepass")).hexdigest()


def state_key(layers: Sequence[Sequence[str]], k: int, datasets: Sequence[str] = ()) -> str:
    h = hashlib.sha256(FORMAT_VERSION.encode())
    named = [(f"layer{n}", layer) for n, layer in enumerate(layers[: k + 1])]
    for name, files in named + ([("datasets", datasets)] if datasets else []):
        h.update(f"|{name}".encode())
        for f in files:
            p = os.path.abspath(f)
            st = os.stat(p)
            h.update(f"|{p}|{st.st_size}|{st.st_mtime_ns}".encode())
    h.update(f"|state{k}".encode())
    return h.hexdigest()[:24]


def _iter_lines(path: str) -> Iterable[str]:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                yield line


def _strip_capture(line: str, rec: dict) -> str | None:
    """Fast path: the served JSON is the line up to a trailing top-level `__capture` key."""
    keys = list(rec)
    if not keys or keys[-1] != "__capture" or any(k.startswith("__") for k in keys[:-1]):
        return None
    if line.count('"__capture":') != 1:
        return None
    pos = line.find(',"__capture":')
    if pos < 0 or not line.endswith("}"):
        return None
    return line[:pos] + "}"


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_decoder = json.JSONDecoder()
_ws = re.compile(r"[ \t\n\r]*")


def _members(line: str) -> list[tuple[str, int, int]] | None:
    """(key, start, end) of each top-level member of a JSON object line, as written in it."""
    try:
        i = _ws.match(line, 0).end()  # type: ignore[union-attr]
        if line[i] != "{":
            return None
        i = _ws.match(line, i + 1).end()  # type: ignore[union-attr]
        out: list[tuple[str, int, int]] = []
        while line[i] != "}":
            start = i
            key, i = json.decoder.scanstring(line, i + 1)  # type: ignore[attr-defined]
            i = _ws.match(line, i).end()  # type: ignore[union-attr]
            if line[i] != ":":
                return None
            _, i = _decoder.raw_decode(line, _ws.match(line, i + 1).end())  # type: ignore[union-attr]
            out.append((key, start, i))
            i = _ws.match(line, i).end()  # type: ignore[union-attr]
            if line[i] == ",":
                i = _ws.match(line, i + 1).end()  # type: ignore[union-attr]
            elif line[i] != "}":
                return None
        return out
    except (ValueError, IndexError):
        return None


def _subset(line: str, members: list[tuple[str, int, int]], keep) -> str:
    """The object `line` with only the members whose key `keep` accepts, each member and the
    separator before it exactly as the line has them (the Hub's bytes, escapes included)."""
    if not members:
        return line.strip()
    out, prev, first = [line[: members[0][1]]], members[0][1], True
    for key, start, end in members:
        if keep(key):
            out.append(line[start:end] if first else line[prev:end])
            first = False
        prev = end
    out.append(line[members[-1][2] :].rstrip())
    return "".join(out)


def db_text(value: str) -> str:
    """Text SQLite can hold: lone surrogates (valid in JSON, not in UTF-8) as \\uXXXX."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _text_col(value) -> str | None:
    return db_text(value) if isinstance(value, str) else None


def _ascii_dumps(obj) -> str:
    """JSON text SQLite can hold whatever the strings: non-UTF-8 ones stay \\u escapes."""
    text = _dumps(obj)
    return text if db_text(text) is text else json.dumps(obj, separators=(",", ":"))


class _Builder:
    """Applies snapshot files to an open (writable) index database."""

    def __init__(self, con: sqlite3.Connection, fresh: bool, kind: RepoKind = MODELS):
        self.con = con
        self.fresh = fresh
        self.kind = kind
        self.t = t = kind.table
        con.execute("CREATE TEMP TABLE pending(rowid INTEGER PRIMARY KEY, tags_json TEXT)")
        self.pending: list[tuple[int, str]] = []
        # Tags holding a NUL byte, by row: SQLite's json_each cuts a string at NUL (a tag
        # "license:mit\0x" would be indexed as "license:mit"), so these are inserted as they are.
        self.nul_tags: dict[int, list[str]] = {}
        self.files_rows: list[tuple[int, str, str | bytes]] = []
        # models rows not yet written: inserted in batches with explicit rowids
        self.new_rows: list[tuple] = []
        self.new_by_id: dict[str, int] = {}
        self.new_by__id: dict[str | int, int] = {}
        self.next_rowid = (con.execute(f"SELECT max(rowid) FROM {t}").fetchone()[0] or 0) + 1
        self.has_aliases = (
            con.execute(f"SELECT 1 FROM {kind.aliases} LIMIT 1").fetchone() is not None
        )

    def _flush(self):
        if self.new_rows:
            self.con.executemany(
                f"INSERT INTO {self.t}(rowid, id, _id, author, downloads, likes, createdAt,"
                " lastModified, trendingScore, pipeline_tag, library_name, gated, sha, json,"
                " list_json, flags) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                self.new_rows,
            )
            self.new_rows.clear()
            self.new_by_id.clear()
            self.new_by__id.clear()
        if self.pending:
            self.con.executemany(
                "INSERT OR REPLACE INTO temp.pending(rowid, tags_json) VALUES (?, ?)", self.pending
            )
            self.pending.clear()
        if self.files_rows:
            self.con.executemany(
                f"INSERT INTO {self.kind.files}(model_rowid, name, text) VALUES (?, ?, ?)",
                self.files_rows,
            )
            self.files_rows.clear()

    def _delete_row(self, rowid: int):
        self.con.execute(f"DELETE FROM {self.t} WHERE rowid=?", (rowid,))
        self.con.execute(f"DELETE FROM {self.kind.files} WHERE model_rowid=?", (rowid,))
        self.pending.append((rowid, "[]"))
        self.nul_tags.pop(rowid, None)

    def apply_file(self, path: str) -> int:
        n = 0
        for line in _iter_lines(path):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                raise
            except (ValueError, RecursionError):
                # Valid JSON past Python's defaults (an integer over 4,300 digits, nesting past
                # the recursion limit): the Hub serves it, so the index reads it (the build is
                # single-threaded) and keeps its text byte for byte.
                with _unbounded(line):
                    self.apply_record(json.loads(line), line)
            else:
                self.apply_record(rec, line)
            n += 1
            if len(self.new_rows) >= 5000 or len(self.pending) >= 20000:
                self._flush()
        self._flush()
        return n

    def apply_record(self, rec: dict, line: str | None = None):
        if not isinstance(rec, dict):
            return
        con, t, aliases = self.con, self.t, self.kind.aliases
        files: dict = rec["__files"] if isinstance(rec.get("__files"), dict) else {}
        api = {k: v for k, v in rec.items() if not k.startswith("__")}
        if not isinstance(api.get("id"), str):
            return  # nothing serves a record without an id
        mid = db_text(api["id"])
        _id = api.get("_id")
        _id = db_text(_id) if isinstance(_id, str) else _id if isinstance(_id, int) else None

        if mid in self.new_by_id or (_id is not None and _id in self.new_by__id):
            self._flush()  # a duplicate of a not yet written row: write the batch first
        existing = None  # (rowid, id, _id)
        by__id = by_id = None
        for r in con.execute(
            f"SELECT 0, rowid, id, _id FROM {t} WHERE _id=?1 UNION ALL"
            f" SELECT 1, rowid, id, _id FROM {t} WHERE id=?2",
            (_id, mid),
        ):
            if r[0] == 0:
                by__id = r[1:]
            else:
                by_id = r[1:]
        if _id is not None:
            existing = by__id
        if existing is None:
            row = by_id
            if row is not None:
                if _id is not None and row[2] is not None and row[2] != _id:
                    # The id now belongs to a different repo: the old repo is superseded.
                    self._delete_row(row[0])
                else:
                    existing = row
        if existing is not None and existing[1] != mid:
            # Rename: same _id, new id.  Another row holding the new id is superseded.
            clash = con.execute(f"SELECT rowid FROM {t} WHERE id=?", (mid,)).fetchone()
            if clash is not None and clash[0] != existing[0]:
                self._delete_row(clash[0])
            old = existing[1]
            con.execute(f"UPDATE {aliases} SET new_id=? WHERE new_id=?", (mid, old))
            con.execute(
                f"INSERT OR REPLACE INTO {aliases}(old_id, new_id) VALUES (?, ?)", (old, mid)
            )
            self.has_aliases = True
        if self.has_aliases:
            con.execute(f"DELETE FROM {aliases} WHERE old_id=?", (mid,))

        tags = api.get("tags")
        ftags = [db_text(t) for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
        for extra in (api.get(k) for k in self.kind.filter_keys):
            if isinstance(extra, str) and db_text(extra) not in ftags:
                ftags.append(db_text(extra))
        ftags = list(dict.fromkeys(ftags))

        author = _text_col(api.get("author")) or (mid.split("/", 1)[0] if "/" in mid else None)
        gated = api.get("gated")
        gated_s = (
            None
            if gated is None
            else (("true" if gated else "false") if isinstance(gated, bool) else str(gated))
        )
        date = _text_col(api.get("lastModified")) or _text_col(api.get("createdAt"))
        sha = _text_col(api.get("sha")) or derived_sha(mid, date)
        lkeys = [k for k in self.kind.list_keys if k in api]
        full = (line is not None and _strip_capture(line, rec)) or None
        members = _members(line) if line is not None and full is None else None
        if full is None and line is not None and members:
            # The record's own text, byte for byte (lone surrogates stay \\u escapes in it).
            full = _subset(line, members, lambda k: not k.startswith("__"))
        full = full or _ascii_dumps(api)
        lst = full if lkeys == list(api) else _ascii_dumps({k: api[k] for k in lkeys})
        flags = FLAG_CARD_OR_CONFIG if ("cardData" in api or "config" in api) else 0

        def num(v, typ):
            # SQLite integers are 64-bit: a larger count is clamped in the sort column only.
            if isinstance(v, int) and not isinstance(v, bool):
                return max(-INT64_MAX - 1, min(v, INT64_MAX))
            return v if isinstance(v, float) else None

        vals = (
            mid,
            _id,
            author,
            num(api.get("downloads"), int),
            num(api.get("likes"), int),
            _text_col(api.get("createdAt")),
            _text_col(api.get("lastModified")),
            num(api.get("trendingScore"), float),
            _text_col(api.get("pipeline_tag")),
            _text_col(api.get("library_name")),
            gated_s,
            sha,
            full,
            None if lst == full else lst,
            flags,
        )
        if existing is None:
            rowid = self.next_rowid
            self.next_rowid += 1
            self.new_rows.append((rowid,) + vals)
            self.new_by_id[mid] = rowid
            if _id is not None:
                self.new_by__id[_id] = rowid
        else:
            rowid = existing[0]
            con.execute(
                f"UPDATE {t} SET id=?, _id=?, author=?, downloads=?, likes=?, createdAt=?,"
                " lastModified=?, trendingScore=?, pipeline_tag=?, library_name=?, gated=?, sha=?,"
                " json=?, list_json=?, flags=? WHERE rowid=?",
                vals + (rowid,),
            )
            con.execute(f"DELETE FROM {self.kind.files} WHERE model_rowid=?", (rowid,))
        tags_json = _dumps(ftags)
        if "\\u0000" in tags_json:  # rare: one look at the text, not one per tag
            self.nul_tags[rowid] = [t for t in ftags if "\0" in t]
            tags_json = _dumps([t for t in ftags if "\0" not in t])
        else:
            self.nul_tags.pop(rowid, None)
        self.pending.append((rowid, tags_json))
        for name, text in files.items():
            if isinstance(text, str):
                # A text that is not UTF-8 (lone surrogates) is kept as the bytes served.
                data = text if db_text(text) is text else text.encode("utf-8", "surrogatepass")
                self.files_rows.append((rowid, db_text(name), data))

    def finalize(self):
        con, kind = self.con, self.kind
        self._flush()
        if not self.fresh:
            con.execute(
                f"DELETE FROM {kind.tags} WHERE model_rowid IN (SELECT rowid FROM temp.pending)"
            )
        con.execute(
            f"INSERT INTO {kind.tags}(tag, model_rowid) SELECT j.value, p.rowid"
            " FROM temp.pending p, json_each(p.tags_json) j"
        )
        con.executemany(
            f"INSERT INTO {kind.tags}(tag, model_rowid) VALUES (?, ?)",
            [(t, rowid) for rowid, tags in self.nul_tags.items() for t in tags],
        )
        con.execute("DROP TABLE temp.pending")
        for stmt in final_indexes(kind):
            con.execute(stmt)
        count = con.execute(f"SELECT count(*) FROM {kind.table}").fetchone()[0]
        aliases = con.execute(f"SELECT count(*) FROM {kind.aliases}").fetchone()[0]
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (kind.table, str(count)))
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (kind.aliases, str(aliases)))


def _open_build(path: str) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-65536")
    con.execute("PRAGMA temp_store=FILE")
    return con


def build_states(
    layers: Sequence[Sequence[str]],
    index_dir: str | os.PathLike | None = None,
    log=None,
    datasets: Sequence[str] = (),
) -> list[str]:
    """Return the database path of every state, building the missing ones.

    The dataset files are applied once, in state 0, which every later state copies: the
    layers (`--then`) are model files."""
    idir = Path(index_dir) if index_dir else default_index_dir()
    idir.mkdir(parents=True, exist_ok=True)
    paths: list[str] = []
    prev: str | None = None
    for k, layer in enumerate(layers):
        target = idir / f"state-{state_key(layers, k, datasets)}.sqlite"
        if not target.exists():
            t0 = time.monotonic()
            fd, tmp = tempfile.mkstemp(prefix=".build-", suffix=".sqlite", dir=idir)
            os.close(fd)
            try:
                if prev is None:
                    os.unlink(tmp)
                    con = _open_build(tmp)
                    con.executescript(SCHEMA)
                else:
                    shutil.copyfile(prev, tmp)
                    con = _open_build(tmp)
                con.execute("BEGIN")
                n = 0
                for kind, files in ((MODELS, layer), (DATASETS, datasets if k == 0 else ())):
                    b = _Builder(con, fresh=prev is None, kind=kind)
                    for f in files:
                        n += b.apply_file(f)
                    b.finalize()
                con.execute("ANALYZE")
                con.execute("INSERT OR REPLACE INTO meta VALUES ('state', ?)", (str(k),))
                con.execute("COMMIT")
                con.close()
                os.chmod(tmp, 0o644)
                os.replace(tmp, target)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
            if log:
                dt = time.monotonic() - t0
                log(f"hubreplay: built state {k} index ({n} records) in {dt:.1f}s: {target}")
        paths.append(str(target))
        prev = str(target)
    return paths


def _log_stderr(msg: str):
    import sys

    print(msg, file=sys.stderr, flush=True)


def build_states_logged(layers, index_dir=None, datasets=()):
    """Picklable entry point for building in a child process (logs to stderr)."""
    build_states(layers, index_dir, log=_log_stderr, datasets=datasets)

"""Pipeline check API under load: gunicorn on loopback against PostgreSQL, wrk as the client.

Builds its own database (DATABASE_URL's server, database `canopy_check_bench`): 2,000 models,
each with an approval request for internal_tool (two in three approved, the rest pending), and a
token with the `check` scope. Starts gunicorn (config/gunicorn.py), checks a few answers
by hand, then for each connection count runs wrk for CANOPY_BENCH_SECONDS over random models
(every request a real check: token lookup and approvals in PostgreSQL, nothing cached) and
prints requests/s, p50/p99 latency, non-200 answers and the CPU each party used.

wrk keeps a fixed number of connections busy (a closed loop), so latency ~= connections /
throughput: figures are only comparable at the same connection count, which each line states.
Exits non-zero if any answer was not a 200.

Then a paced run: the most connections, each pausing at random between requests so that they
offer about CANOPY_BENCH_RATE requests/s (1,000; 0 skips it): the latency at that load rather
than at saturation.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/check_bench.py

Options (environment): CANOPY_BENCH_CONNECTIONS (default "8,16"), CANOPY_BENCH_SECONDS (10),
CANOPY_BENCH_WORKERS (gunicorn processes, default the CPU count), CANOPY_BENCH_THREADS (threads
per worker, 2), CANOPY_BENCH_GUNICORN_ARGS (more gunicorn options), CANOPY_BENCH_REUSE=1 (keep
the database of the last run)."""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECONDS = int(os.environ.get("CANOPY_BENCH_SECONDS", "10"))
CONNECTIONS = [int(c) for c in os.environ.get("CANOPY_BENCH_CONNECTIONS", "8,16").split(",")]
WORKERS = int(os.environ.get("CANOPY_BENCH_WORKERS", str(os.cpu_count() or 2)))
THREADS = int(os.environ.get("CANOPY_BENCH_THREADS", "2"))
PORT = int(os.environ.get("CANOPY_BENCH_PORT", "8799"))
RATE = int(os.environ.get("CANOPY_BENCH_RATE", "1000"))
DB = "canopy_check_bench"
N = 2000
TICK = os.sysconf("SC_CLK_TCK")

SETUP = f"""
import django, datetime
django.setup()
from django.contrib.auth.models import User
from catalog.models import HubModel
from approvals.models import ApiToken, ApprovalRequest, Coverage
dev = User.objects.create_user("dev"); ci = User.objects.create_user("ci")
models = HubModel.objects.bulk_create([HubModel(repo_id=f"org{{i % 50}}/model-{{i}}", author=f"org{{i % 50}}", sha=f"{{i:040x}}") for i in range({N})])
reqs = ApprovalRequest.objects.bulk_create([ApprovalRequest(model=m, intended_use="internal_tool", justification="bench", requested_by=dev, status="approved" if i % 3 else "pending", expires_at=datetime.date(2100, 1, 1)) for i, m in enumerate(models)])
Coverage.objects.bulk_create([Coverage(approval=r, model=r.model) for r in reqs])
"""
TOKEN = """
import django
django.setup()
from django.contrib.auth.models import User
from approvals.models import ApiToken
ApiToken.objects.filter(name="bench").delete()
print(ApiToken.issue(User.objects.get(username="ci"), name="bench", scopes=["check"])[1])
"""

# One wrk thread; `response` counts every answer that is not a 200 (wrk's own count lets 3xx
# through), `done` sums the threads' counts into the last line of wrk's output. With PAUSE > 0
# each connection waits a random time (exponential, mean PAUSE ms, rounded at random so the
# mean holds) after each answer: a steady offered rate instead of as fast as possible. wrk
# times a request from its sending, so the pause is not counted as latency.
WRK_SCRIPT = """
local PAUSE = %f
if PAUSE > 0 then
  function delay()
    return math.floor(-math.log(1 - math.random()) * PAUSE + math.random())
  end
end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) math.randomseed(42 + os.time()) ; non200 = 0 end
request = function()
  local i = math.random(0, %d)
  return wrk.format("GET", "/api/v1/check?use=internal_tool&model=org" .. (i %% 50) .. "/model-" .. i,
                    {["Authorization"] = "Bearer %s"})
end
response = function(status, headers, body) if status ~= 200 then non200 = non200 + 1 end end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("non200") end
  io.write(string.format("NON200 %%d\\n", n))
end
"""


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("check_bench needs DATABASE_URL=postgres://...")
    if not shutil.which("wrk"):
        sys.exit("check_bench needs wrk (apt-get install wrk)")
    env = {**os.environ, "DATABASE_URL": url.rsplit("/", 1)[0] + f"/{DB}", "DJANGO_DEBUG": "0",
           "DJANGO_SECRET_KEY": "bench", "CANOPY_LOG_LEVEL": "ERROR",
           "DJANGO_SETTINGS_MODULE": "config.settings"}  # fmt: skip
    py = sys.executable
    if os.environ.get("CANOPY_BENCH_REUSE") != "1":
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB}")
            conn.execute(f"CREATE DATABASE {DB}")
        subprocess.run([py, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run([py, "-c", SETUP], cwd=ROOT, env=env, check=True)
    token = subprocess.run([py, "-c", TOKEN], cwd=ROOT, env=env, check=True,
                           capture_output=True, text=True).stdout.split()[-1]  # fmt: skip
    server = subprocess.Popen(
        # The project's gunicorn settings (gthread, keep-alive, a socket per worker).
        [py, "-m", "gunicorn", "config.wsgi", "-c", "config/gunicorn.py",
         "-b", f"127.0.0.1:{PORT}", "-w", str(WORKERS), "--threads", str(THREADS),
         "--log-level", "warning", *os.environ.get("CANOPY_BENCH_GUNICORN_ARGS", "").split()],
        cwd=ROOT, env=env,
    )  # fmt: skip
    setup = f"gunicorn {WORKERS} workers x {THREADS} threads (gthread), {os.cpu_count()} CPUs"
    failed = False
    try:
        base = f"http://127.0.0.1:{PORT}"
        preflight(base, token)
        run_wrk(base, token, connections=max(CONNECTIONS), seconds=3)  # warm every thread
        for connections in CONNECTIONS:
            r = run_wrk(base, token, connections=connections, seconds=SECONDS, server=server.pid)
            failed |= r["non200"] > 0 or r["socket_errors"] > 0
            print(f"check API, {connections} connections (wrk closed loop), {setup}: "
                  f"{r['rate']:,.0f} requests/s, p50 {r['p50']}, p99 {r['p99']}, "
                  f"non-200 {r['non200']}, socket errors {r['socket_errors']}")  # fmt: skip
            print(f"  CPU over the run (of {os.cpu_count()} cores): gunicorn {r['gunicorn']:.2f}, "
                  f"PostgreSQL backends {r['postgres']:.2f}, wrk {r['wrk']:.2f}, "
                  f"everything else on the machine {r['other']:.2f}; "
                  f"per worker {'/'.join(f'{c:.2f}' for c in r['split'])}; "
                  f"server CPU per request {r['per_request_ms']:.2f} ms")  # fmt: skip
        if RATE:
            r = paced(base, token, connections=max(CONNECTIONS), server=server.pid)
            failed |= r["non200"] > 0 or r["socket_errors"] > 0
            print(f"check API, paced at {RATE:,} requests/s offered ({max(CONNECTIONS)} "
                  f"connections, random pauses averaging {r['pause']:.1f} ms), {setup}: "
                  f"{r['rate']:,.0f} requests/s, p50 {r['p50']}, p99 {r['p99']}, "
                  f"non-200 {r['non200']}, socket errors {r['socket_errors']}; CPU: gunicorn "
                  f"{r['gunicorn']:.2f}, PostgreSQL {r['postgres']:.2f}, wrk {r['wrk']:.2f}, "
                  f"everything else {r['other']:.2f}")  # fmt: skip
    finally:
        server.terminate()
        server.wait(10)
    if failed:
        sys.exit("check_bench: some answers were not 200 (see above)")


def paced(base: str, token: str, *, connections: int, server: int) -> dict:
    """A run at about RATE requests/s: each connection pauses between requests, the pause set
    from a short first run (the rest of a connection's cycle is its answers' latency)."""
    pause = connections * 1000 / RATE - 2.0
    first = run_wrk(base, token, connections=connections, seconds=4, pause=pause)
    latency = connections * 1000 / first["rate"] - pause
    pause = max(connections * 1000 / RATE - latency, 0.0)
    return {**run_wrk(base, token, connections=connections, seconds=SECONDS, server=server,
                      pause=pause), "pause": pause}  # fmt: skip


def preflight(base: str, token: str) -> None:
    """The server answers, and answers right: an approved and a pending model, a bad token."""
    import httpx2

    headers = {"Authorization": f"Bearer {token}"}
    check = f"{base}/api/v1/check?use=internal_tool&model="
    for _ in range(100):
        try:
            r = httpx2.get(check + "org1/model-1", headers=headers)
            break
        except httpx2.TransportError:
            time.sleep(0.1)
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    r = httpx2.get(check + "org3/model-3", headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "pending", r.text
    r = httpx2.get(check + "org1/model-1", headers={"Authorization": "Bearer cnp_wrong"})
    assert r.status_code == 401, r.text


def run_wrk(
    base: str, token: str, *, connections: int, seconds: int, server: int = 0, pause: float = 0
) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT % (pause, N - 1, token))
        script.flush()
        before = _cpu_ticks(server), _machine_ticks(), resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name,
             base],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        elapsed = time.monotonic() - t0
        after = _cpu_ticks(server), _machine_ticks(), resource.getrusage(resource.RUSAGE_CHILDREN)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)

    def cores(key: str) -> float:
        return (after[0][key] - before[0][key]) / TICK / elapsed

    wrk_cpu = sum(getattr(after[2], f) - getattr(before[2], f) for f in ("ru_utime", "ru_stime"))
    machine = (after[1] - before[1]) / TICK / elapsed
    gunicorn, postgres, wrk = cores("gunicorn"), cores("postgres"), wrk_cpu / elapsed
    # A kept-alive connection stays with the worker that accepted it: this shows how even that is.
    split = sorted(
        (ticks - before[0]["workers"].get(pid, 0)) / TICK / elapsed
        for pid, ticks in after[0]["workers"].items()
    )
    return {
        "rate": rate, "p50": lat.get("50"), "p99": lat.get("99"),
        "non200": int(re.search(r"NON200 (\d+)", out).group(1)),
        "socket_errors": sum(map(int, sock.groups())) if sock else 0,
        "gunicorn": gunicorn, "postgres": postgres, "wrk": wrk, "split": split,
        "other": max(machine - gunicorn - postgres - wrk, 0.0),
        "per_request_ms": (gunicorn + postgres) / rate * 1000 if rate else 0.0,
    }  # fmt: skip


def _cpu_ticks(server: int) -> dict:
    """CPU ticks so far of the gunicorn master and workers (and of each worker), and of this
    database's backends."""
    out = {"gunicorn": 0, "postgres": 0, "workers": {}}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        if server and (int(proc.name) == server or int(fields[1]) == server):
            out["gunicorn"] += ticks
            if int(fields[1]) == server:
                out["workers"][proc.name] = ticks
        elif cmdline.startswith(b"postgres:") and DB.encode() in cmdline:
            out["postgres"] += ticks
    return out


def _machine_ticks() -> int:
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return user + nice + system + irq + softirq + steal


if __name__ == "__main__":
    main()

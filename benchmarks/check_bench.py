"""Pipeline check API under load: gunicorn (2+ workers) on loopback against PostgreSQL.

Sets up its own database (DATABASE_URL's server, database `canopy_check_bench`), 2,000 models with
approvals, and a check token; then a thread-pool load generator with keep-alive clients
(httpx2) asks GET /api/v1/check for random models for CANOPY_BENCH_SECONDS and prints
requests/s and p50/p99 latency. Needs DATABASE_URL=postgres://..."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECONDS = float(os.environ.get("CANOPY_BENCH_SECONDS", "10"))
THREADS = int(os.environ.get("CANOPY_BENCH_THREADS", "16"))
WORKERS = int(os.environ.get("CANOPY_BENCH_WORKERS", str(max(2, (os.cpu_count() or 2)))))
PORT = int(os.environ.get("CANOPY_BENCH_PORT", "8799"))
N = 2000


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("check_bench needs DATABASE_URL=postgres://...")
    bench_url = url.rsplit("/", 1)[0] + "/canopy_check_bench"
    env = {**os.environ, "DATABASE_URL": bench_url, "DJANGO_DEBUG": "0",
           "DJANGO_SECRET_KEY": "bench", "CANOPY_LOG_LEVEL": "WARNING"}  # fmt: skip
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS canopy_check_bench")
        conn.execute("CREATE DATABASE canopy_check_bench")
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    setup = f"""
import django, datetime
django.setup()
from django.contrib.auth.models import User, Group
from catalog.models import HubModel
from approvals.models import ApiToken, ApprovalRequest, Coverage
dev = User.objects.create_user("dev"); ci = User.objects.create_user("ci")
models = HubModel.objects.bulk_create([HubModel(repo_id=f"org{{i % 50}}/model-{{i}}", author=f"org{{i % 50}}", sha=f"{{i:040x}}") for i in range({N})])
reqs = ApprovalRequest.objects.bulk_create([ApprovalRequest(model=m, intended_use="internal_tool", justification="bench", requested_by=dev, status="approved" if i % 3 else "pending", expires_at=datetime.date(2100, 1, 1)) for i, m in enumerate(models)])
Coverage.objects.bulk_create([Coverage(approval=r, model=r.model) for r in reqs])
print(ApiToken.issue(ci, name="bench", scopes=["check"])[1])
"""
    out = subprocess.run([py, "-c", setup], cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE":
                         "config.settings"}, check=True, capture_output=True, text=True)  # fmt: skip
    token = out.stdout.strip().splitlines()[-1]
    server = subprocess.Popen(
        # gthread workers keep connections alive, as a pipeline's HTTP client expects.
        [py, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{PORT}", "-w", str(WORKERS),
         "-k", "gthread", "--threads", "4", "--log-level", "warning", "--keep-alive", "30"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        import httpx2

        base = f"http://127.0.0.1:{PORT}"
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(100):
            try:
                if httpx2.get(f"{base}/api/v1/check?model=org0/model-0&use=internal_tool",
                              headers=headers).status_code == 200:  # fmt: skip
                    break
            except httpx2.TransportError:
                time.sleep(0.1)
        if shutil.which("wrk"):
            return wrk(base, token)
        latencies: list[float] = []
        errors = [0]
        lock = threading.Lock()
        stop = time.perf_counter() + SECONDS

        def worker(seed: int) -> None:
            rnd = random.Random(seed)
            mine, bad = [], 0
            with httpx2.Client(base_url=base, headers=headers) as client:
                while time.perf_counter() < stop:
                    i = rnd.randrange(N)
                    t0 = time.perf_counter()
                    r = client.get("/api/v1/check", params={"model": f"org{i % 50}/model-{i}",
                                                            "use": "internal_tool"})  # fmt: skip
                    mine.append(time.perf_counter() - t0)
                    bad += r.status_code != 200
            with lock:
                latencies.extend(mine)
                errors[0] += bad

        t0 = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(s,)) for s in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        latencies.sort()
        n = len(latencies)
        print(f"check API: {n} requests in {elapsed:.1f}s with {THREADS} client threads, "
              f"gunicorn {WORKERS} workers, {os.cpu_count()} CPUs")  # fmt: skip
        print(f"  throughput {n / elapsed:,.0f} requests/s, errors {errors[0]}")
        print(f"  latency p50 {latencies[n // 2] * 1000:.1f} ms, "
              f"p99 {latencies[int(n * 0.99)] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")  # fmt: skip
    finally:
        server.terminate()
        server.wait(10)


WRK_SCRIPT = """
math.randomseed(42)
request = function()
  local i = math.random(0, %d)
  return wrk.format("GET", "/api/v1/check?use=internal_tool&model=org" .. (i %% 50) .. "/model-" .. i,
                    {["Authorization"] = "Bearer %s"})
end
"""


def wrk(base: str, token: str) -> None:
    """Load from wrk (C, one process): the generator does not eat the server's CPU."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT % (N - 1, token))
        script.flush()
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{THREADS}",
                f"-d{int(SECONDS)}s",
                "--latency",
                "-s",
                script.name,
                base,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    print(f"check API (wrk, {THREADS} connections, gunicorn {WORKERS} gthread workers, "
          f"{os.cpu_count()} CPUs): {rate:,.0f} requests/s, p50 {lat.get('50')}, "
          f"p99 {lat.get('99')}, non-2xx {errors.group(1) if errors else 0}")  # fmt: skip


if __name__ == "__main__":
    main()

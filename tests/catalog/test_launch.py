"""`make run`: the URLs it prints follow PORT, and Ctrl-C stops everything it started.

The second test starts the real `manage.py launch --offline` (web, worker with beat, the replay)
on free ports with a temporary SQLite file, as `make run` does after migrating.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db
def test_the_login_url_follows_port(monkeypatch, capsys):
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.delenv("CANOPY_ADMIN_PASSWORD", raising=False)
    call_command("ensure_admin")
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8123/approvals/login/" in out and ":8000" not in out


@pytest.mark.django_db
def test_the_login_url_follows_the_port_launch_was_given(capsys):
    call_command("ensure_admin", port=9321)
    assert "http://127.0.0.1:9321/approvals/login/" in capsys.readouterr().out


def test_the_replay_serves_the_bundled_models_and_the_datasets_they_declare():
    from catalog.management.commands.launch import replay_command

    data = ROOT / "hubreplay" / "data"
    cmd = replay_command("python").split()
    assert cmd[:3] == ["python", "-m", "hubreplay"]
    assert cmd[3:5] == [str(data / "demo-2024.jsonl.gz"), str(data / "demo-2025.jsonl.gz")]
    assert cmd[5:7] == ["--datasets", str(data / "datasets-2024.jsonl.gz")]


def test_the_replay_moves_off_the_port_the_web_asks_for():
    # Found by testing: `PORT=8765 make run` gave the replay the web's port ("in use").
    from catalog.management.commands.launch import REPLAY_PORT, replay_command, replay_port

    assert replay_port(REPLAY_PORT) != REPLAY_PORT and replay_port(8000) == REPLAY_PORT
    assert replay_command("python", replay_port(REPLAY_PORT)).endswith(f"--port {REPLAY_PORT + 1}")


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (honcho starts each in a session of its own)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parents.items():
            if parent == current and child not in found:
                found.add(child)
                frontier.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def cmdlines(pids: set[int]) -> str:
    out = []
    for pid in pids:
        with contextlib.suppress(OSError):
            out.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
    return "\n".join(out)


@pytest.mark.timeout(120)
def test_ctrl_c_stops_web_worker_beat_and_the_replay_within_10_s(tmp_path):
    port, replay = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'launch.sqlite3'}",
        "CANOPY_DATA_DIR": str(tmp_path),
        "CANOPY_REPLAY_PORT": str(replay),
        "PORT": str(port),
        "CANOPY_ADMIN_PASSWORD": "launch-test-password",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    env.pop("HF_ENDPOINT", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=90)  # fmt: skip
    log = open(tmp_path / "launch.log", "w+b")  # noqa: SIM115 -- read after the process ends
    proc = subprocess.Popen(
        [*manage, "launch", "--offline"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )  # fmt: skip
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "launch.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "launch.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        # Everything it started: the web server, the worker (beat runs inside it, -B) and its
        # pool, and the replay; wait until the worker's pool is up too.
        while time.monotonic() < deadline:
            children = descendants(proc.pid)
            if "celery" in cmdlines(children) and "hubreplay" in cmdlines(children):
                break
            time.sleep(0.3)
        time.sleep(1)
        children = descendants(proc.pid)
        names = cmdlines(children)
        assert "runserver" in names and "celery" in names and "hubreplay" in names, names

        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the foreground group
        stopped_by = time.monotonic() + 10
        while time.monotonic() < stopped_by and (proc.poll() is None or any(map(alive, children))):
            time.sleep(0.1)
        left = {pid for pid in children if alive(pid)}
        assert proc.poll() is not None, "launch still running 10 s after Ctrl-C"
        assert not left, f"still running 10 s after Ctrl-C:\n{cmdlines(left)}"
        log.seek(0)
        out = log.read().decode(errors="replace")
        assert f"http://127.0.0.1:{port}/" in out and f"http://127.0.0.1:{port}/crawls/" in out
        assert f"http://127.0.0.1:{port}/approvals/login/" in out
        assert ":8000" not in out
    finally:
        for pid in children | descendants(proc.pid) | {proc.pid}:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=10)
        log.close()

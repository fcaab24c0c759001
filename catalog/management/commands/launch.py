"""`make run`: web, Celery worker and beat in one terminal (honcho), plus a local Hub offline."""

import os
import socket
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from honcho.manager import Manager

from catalog import runs
from catalog.models import CrawlRun, HubModel

DEMO = Path(settings.BASE_DIR) / "hubreplay" / "data"
REPLAY_PORT = int(os.environ.get("CANOPY_REPLAY_PORT", "8765"))


def replay_port(web_port: int) -> int:
    """CANOPY_REPLAY_PORT, or the next one where PORT asks for it: found by testing,
    `PORT=8765 make run` gave the replay the web's port and the web stopped at "in use"."""
    return REPLAY_PORT + 1 if web_port == REPLAY_PORT else REPLAY_PORT


def replay_command(py: str, port: int = REPLAY_PORT) -> str:
    """The bundled models (2025 records replacing 2024 ones) and the datasets they declare
    (hubreplay/README.md, "Bundled data")."""
    files = sorted(DEMO.glob("demo-*.jsonl.gz"))
    datasets = sorted(DEMO.glob("datasets-*.jsonl.gz"))
    cmd = f"{py} -m hubreplay {' '.join(map(str, files))}"
    if datasets:
        cmd += f" --datasets {' '.join(map(str, datasets))}"
    return f"{cmd} --port {port}"


def hub_reachable(host: str = "huggingface.co") -> bool:
    try:
        socket.create_connection((host, 443), timeout=3).close()
        return True
    except OSError:
        return False


class Command(BaseCommand):
    help = "Start web, worker and beat together; offline, replay the bundled real Hub snapshot."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
        parser.add_argument("--offline", action="store_true", help="replay even if the Hub answers")

    def handle(self, *args, port, offline, **options):
        call_command("ensure_admin", port=port)  # prints how to log in, the first time only
        env = dict(os.environ)
        # Links in notification emails point at this server unless told otherwise.
        env.setdefault("CANOPY_SITE_URL", f"http://127.0.0.1:{port}")
        procs: dict[str, str] = {}
        py = sys.executable
        if "HF_ENDPOINT" in os.environ and not offline:
            endpoint = settings.HF_ENDPOINT
            self.stdout.write(f"Crawling {endpoint} (HF_ENDPOINT).")
        elif not offline and hub_reachable():
            endpoint = "https://huggingface.co"
            self.stdout.write(
                f"Online: crawling the {settings.CANOPY_CRAWL_LIMIT:,} most downloaded models of "
                "the live Hub and their lineage (CANOPY_CRAWL_LIMIT)."
            )
        else:
            endpoint = f"http://127.0.0.1:{replay_port(port)}"
            files = sorted(DEMO.glob("demo-*.jsonl.gz")) + sorted(DEMO.glob("datasets-*.jsonl.gz"))
            self.stdout.write(self.style.WARNING(
                "Offline: the Hub is not reachable, so Canopy replays the bundled real snapshot "
                f"({', '.join(f.name for f in files)}; see hubreplay/data/DEMO.md) at {endpoint}."
            ))  # fmt: skip
            procs["hub"] = replay_command(py, replay_port(port))
            # The budget follows the replay's announced quota; every model's details in one run.
            env.setdefault("CANOPY_DETAILS_PER_RUN", "100000")
        env["HF_ENDPOINT"] = endpoint
        procs["web"] = f"{py} manage.py runserver 127.0.0.1:{port} --noreload"
        procs["worker"] = (
            f"{py} -m celery -A config worker -B --loglevel INFO --concurrency 2 "
            f"--schedule {settings.CELERY_BEAT_SCHEDULE_FILENAME}"
        )
        if not HubModel.objects.exists():
            limit = 0 if endpoint.startswith("http://127.0.0.1") else None
            run, created = runs.start(CrawlRun.Kind.FULL, endpoint=endpoint, limit=limit)
            if created:
                from catalog.tasks import crawl

                crawl.delay(run.pk)
            self.stdout.write(f"The catalog is empty: full crawl #{run.pk} queued.")
        self.stdout.write(self.style.SUCCESS(
            f"Canopy: http://127.0.0.1:{port}/  (crawl progress: http://127.0.0.1:{port}/crawls/)"
        ))  # fmt: skip
        # Ctrl-C: honcho sends SIGTERM, on which Celery would wait for the crawl step in
        # flight (minutes); a cold shutdown stops it at once instead (the step is redone).
        envs = {"worker": {**env, "REMAP_SIGTERM": "SIGQUIT"}}
        manager = Manager()
        for name, cmd in procs.items():
            manager.add_process(name, cmd, env=envs.get(name, env), quiet=False)
        manager.loop()
        sys.exit(manager.returncode)

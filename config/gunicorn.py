"""gunicorn settings for the web process: `gunicorn -c config/gunicorn.py config.wsgi`.

Measured with benchmarks/check_bench.py (the pipeline check, README "Benchmarks"); command-line
options still override these.
"""

import os

# Threads, because pipelines keep their connections alive between checks and a sync worker
# closes each connection after one answer; a kept-alive connection waits in the worker's poller,
# not in a thread.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 2))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
keepalive = 30
# A connection stays with the worker that accepted it. With one shared socket, a burst of new
# connections often lands on one worker, which then runs on one core while the others idle;
# a socket per worker (SO_REUSEPORT) lets the kernel spread them.
reuse_port = True

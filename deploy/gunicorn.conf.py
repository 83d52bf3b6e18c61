"""gunicorn settings for Prefill: ``gunicorn -c deploy/gunicorn.conf.py "app:create_app()"``.

Sync workers with a few threads each: requests are short and mostly wait on the
database. Every value can be overridden with the usual GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30  # a request never needs long: the database answers in 2 s or is a 503
graceful_timeout = 20
keepalive = 5
max_requests = 10000  # recycle workers now and then; jitter keeps them from restarting together
max_requests_jitter = 1000
accesslog = None  # Prefill logs one line per request itself with LOG_FORMAT=json
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_fork(server, worker):  # noqa: ANN001, ANN201 - gunicorn's hook
    """Two malloc arenas per worker, not glibc's eight per core: threads that
    stream uploads in 64 KiB chunks otherwise each keep an arena of freed pages
    (10 concurrent 20 MB uploads: about 10 MiB more RSS, bench/uploads.py).
    ``MALLOC_ARENA_MAX`` in the environment wins."""
    if "MALLOC_ARENA_MAX" not in os.environ:
        import ctypes

        ctypes.CDLL(None).mallopt(-8, 2)  # M_ARENA_MAX

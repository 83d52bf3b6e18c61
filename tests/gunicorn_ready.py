"""gunicorn config for the start-up tests: each worker says when its app is built."""

import sys


def post_worker_init(worker):
    print(f"READY {worker.pid}", file=sys.stderr, flush=True)

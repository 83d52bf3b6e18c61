"""gunicorn config for the start-up tests: each worker says when its app is built."""

import os


def post_worker_init(worker):
    # One write() of a short line is atomic on a pipe: workers never interleave it.
    os.write(2, f"READY {worker.pid}\n".encode())

"""Keeps long-lived objects out of the garbage collector's full passes.

A full pass walks every tracked object: the imported modules and the caches'
forms and identities (~90k objects after a run of new users), 30-70 ms that a
request waits for. After the first request, and then every ``GC_FREEZE_EVERY``
requests, the young generations are collected and everything left is moved
out of the collector's sight (``gc.freeze``), as is everything the app's
creation made (the imports: ~50k objects). Frozen objects are still freed by
reference counting when a cache drops them; what a full pass would still find
is only what was made since the last freeze. Collecting the young generations
first keeps a request's own reference cycles from being frozen.
"""

from __future__ import annotations

import gc

from flask import Flask, Response


class Collector:
    def __init__(self, every: int) -> None:
        self.every = every
        self.left = 1  # the first request builds the app's lazy state: freeze right after it

    def after_request(self, response: Response) -> Response:
        self.left -= 1
        if self.left <= 0:  # threads may race here: a freeze more or less does no harm
            self.left = self.every
            gc.collect(1)
            gc.freeze()
        return response


def init_collector(app: Flask) -> None:
    every = app.config["GC_FREEZE_EVERY"]
    if every > 0:
        gc.collect()
        gc.freeze()
        app.after_request(Collector(every).after_request)

"""web.plumbing.collector: long-lived objects leave the garbage collector's full passes;
a request's own reference cycles are collected, not frozen. (Its effect on the
slowest answers is measured by bench/gunicorn_bench.py: docs/performance.md.)"""

from __future__ import annotations

import gc
import itertools
import weakref

import pytest


class Node:
    pass


@pytest.fixture
def unfrozen():
    yield
    gc.unfreeze()  # this test process is not a worker: give everything back to the collector


def test_creation_and_every_nth_request_freeze(make_app, unfrozen):
    gc.unfreeze()
    app = make_app(GC_FREEZE_EVERY=3)
    frozen = gc.get_freeze_count()
    assert frozen > 10_000  # the imports and the app itself
    c = app.test_client()
    c.get("/healthz")  # the first request freezes what it built
    assert gc.get_freeze_count() >= frozen
    counts = []
    for _ in range(6):
        kept = [Node() for _ in range(500)]  # long-lived, as a cache's entries are
        app.extensions.setdefault("test_kept", []).append(kept)
        c.get("/healthz")
        counts.append(gc.get_freeze_count())
    grew = [b > a for a, b in itertools.pairwise(counts)]
    assert sum(grew) == 2  # every third request: 6 requests after the first, two freezes


def test_a_cycle_left_by_a_request_is_collected_not_frozen(make_app, unfrozen):
    app = make_app(GC_FREEZE_EVERY=2)
    c = app.test_client()
    c.get("/healthz")
    c.get("/healthz")  # the count starts over
    gc.disable()  # only the collector's own young collection may free it now
    try:
        node = Node()
        node.self = node  # garbage only a collection can free
        alive = weakref.ref(node)
        del node
        c.get("/healthz")  # this request's after_request collects the young generations, then freezes
        assert alive() is None
    finally:
        gc.enable()


def test_off_freezes_nothing(make_app, unfrozen):
    gc.unfreeze()
    app = make_app(GC_FREEZE_EVERY=0)
    for _ in range(5):
        app.test_client().get("/healthz")
    assert gc.get_freeze_count() == 0

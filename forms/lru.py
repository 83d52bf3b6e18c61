"""A small thread-safe LRU map for memoising pure results, bounded in bytes.

Each entry is weighed once, when it is stored, by a cheap estimate of what it
holds (``weigh``); the map evicts the least recently used entries while it is
over ``max_bytes`` or ``maxsize`` entries. An entry heavier than the whole
budget is not stored at all.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from sys import getsizeof
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")
_MISSING: Any = object()


def text_bytes(value: Any) -> int:
    """The bytes of every string (str or bytes) in ``value``, a string or nested
    tuples of them (cache keys: fingerprints and identities' stored JSON texts)."""
    held, stack = 0, [value]
    while stack:
        part = stack.pop()
        if isinstance(part, (str, bytes)):
            held += getsizeof(part)
        elif isinstance(part, tuple):
            stack.extend(part)
    return held


class LRU(Generic[K, V]):
    def __init__(self, maxsize: int, max_bytes: int | None = None,
                 weigh: Callable[[K, V], int] | None = None) -> None:
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self._weigh = weigh
        self._data: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0  # the estimated weight of what is held now

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._data.get(key, _MISSING)
            if found is _MISSING:
                return None
            self._data.move_to_end(key)
            return found[0]

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The value for ``key``, made by ``make()`` and kept when it is missing."""
        found = self.get(key)
        if found is None:
            found = make()
            self.put(key, found)
        return found

    def put(self, key: K, value: V) -> None:
        if self.maxsize <= 0:
            return
        weight = self._weigh(key, value) if self._weigh is not None else 0
        if self.max_bytes is not None and weight > self.max_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._data[key] = (value, weight)
            self.bytes += weight
            while self._data and (len(self._data) > self.maxsize
                                  or (self.max_bytes is not None and self.bytes > self.max_bytes)):
                self.bytes -= self._data.popitem(last=False)[1][1]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._data)

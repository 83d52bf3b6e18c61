"""The scripts Prefill serves with a content version: ``/widget.js`` and the
pages that link it by ``?v=<version>`` (a URL that never changes, cached long)."""

from __future__ import annotations

import gzip
import hashlib
from functools import lru_cache

from flask import current_app


@lru_cache(maxsize=1)
def _script(path: str) -> tuple[bytes, bytes, str]:
    """(the script, gzipped, its version): read once per process."""
    with open(path, "rb") as handle:
        text = handle.read()
    return text, gzip.compress(text, 9, mtime=0), hashlib.sha256(text).hexdigest()[:16]


def widget_script() -> tuple[bytes, bytes, str]:
    return _script(current_app.static_folder + "/widget.js")  # type: ignore[operator]


def widget_version() -> str:
    return widget_script()[2]

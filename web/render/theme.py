"""The forms' theme: the stylesheet's custom properties (served at
``/theme.css``) from the operator's settings (``THEME_ACCENT``,
``THEME_RADIUS``) and an embed's own (``?accent=%23rrggbb``,
``?theme=light|dark``), each checked before use."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from flask import request

HEX = re.compile(r"\A#[0-9a-fA-F]{6}\Z")
RADIUS = re.compile(r"\A(\d{1,2}(\.\d)?)(px|rem)\Z")
MODES = ("light", "dark")


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def page_theme() -> tuple[str | None, str | None]:
    """(accent, forced mode) an embed asked for; invalid values are ignored."""
    accent = request.args.get("accent")
    mode = request.args.get("theme")
    return (accent if accent and HEX.match(accent) else None), (mode if mode in MODES else None)


@lru_cache(maxsize=256)
def theme_css_text(accent: str, radius: str) -> str:
    # Text on the accent (buttons): white, unless the accent is too light for it.
    on_accent = "#ffffff" if contrast(accent, "#ffffff") >= 4.5 else "#1b1d22"
    return f":root{{--prefill-accent:{accent};--prefill-accent-text:{on_accent};--prefill-radius:{radius}}}\n"


def theme_context() -> dict[str, Any]:
    """For every template: the embed's theme choices (they go into the page)."""
    accent, mode = page_theme()
    return {"theme_accent": accent, "theme_mode": mode}

"""End-user messages the engine writes, kept translatable without the engine
knowing about requests or languages.

``N_`` marks a string for the catalogue (``pybabel extract -k N_``) and returns
it unchanged. A :class:`Message` is the English text (it *is* a ``str``, so the
JSON API and logs see plain text) that also remembers its template and values,
so the HTML surface can show it in the reader's language.
"""

from __future__ import annotations

from typing import Any


def N_(text: str) -> str:
    return text


class Message(str):
    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Message:
        self = super().__new__(cls, template % params if params else template)
        self.template, self.params = template, params
        return self

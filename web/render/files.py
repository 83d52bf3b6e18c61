"""File fields in words: the limits a reader is told before choosing ("PNG or
JPEG, up to 5 MB"), sizes written the reader's way ("5 Mo" in French), and the
per-file messages ``static/uploads.js`` shows, all in the reader's language.

Everything here follows from a field's shape (``accept``, ``maxSize``,
``maxFiles``, the operator's caps) and the language, so compiled fields keep
it (web.render.compiled keys them by both).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from babel.lists import format_list
from babel.units import format_unit
from flask import current_app

from forms.messages import N_, Message
from forms.resolve import ResolvedField
from web.render.i18n import request_locale, translate

# What a reader calls a type: the format's name, or a kind for a wildcard.
FORMAT_NAMES = {
    "image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WebP", "image/svg+xml": "SVG",
    "image/heic": "HEIC", "image/avif": "AVIF", "image/bmp": "BMP", "image/tiff": "TIFF",
    "application/pdf": "PDF", "application/zip": "ZIP", "application/json": "JSON", "text/csv": "CSV",
    "application/msword": "Word", "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/vnd.ms-excel": "Excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
}
KIND_NAMES = {"image/*": N_("images"), "video/*": N_("videos"), "audio/*": N_("audio files"),
              "text/*": N_("text files"), "text/plain": N_("plain text")}
IMAGE_TYPES = ("image/", ".png", ".jpg", ".jpeg", ".gif", ".webp")  # a pasted screenshot can be one of these


def accept_list(rf: ResolvedField) -> tuple[str, ...]:
    """The field's ``accept`` entries, as the schema normalised them (none: any type)."""
    return rf.accept or ()


def limits(rf: ResolvedField) -> tuple[int | None, int]:
    """(bytes per file, files): the form's own limits, capped by the operator's (the
    engine has done so already; a schema loaded without the caps gets them here)."""
    cfg = current_app.config
    size, files = rf.max_size, rf.max_files or 1
    if cfg.get("UPLOAD_MAX_BYTES"):
        size = min(size or cfg["UPLOAD_MAX_BYTES"], cfg["UPLOAD_MAX_BYTES"])
    if cfg.get("UPLOAD_MAX_FILES"):
        files = min(files, cfg["UPLOAD_MAX_FILES"])
    return size, files


def size_text(size: int) -> str:
    """``size`` bytes in the reader's units, rounded down (a limit never reads larger than it is).
    Units of 1024, as the operator's settings and the server's messages count them (5 MB is 5 * 1024 * 1024)."""
    locale = request_locale()
    for unit, scale in (("digital-gigabyte", 1 << 30), ("digital-megabyte", 1 << 20), ("digital-kilobyte", 1 << 10)):
        if size >= scale:
            amount = size / scale
            amount = math.floor(amount * 10) / 10 if amount < 10 else math.floor(amount)
            return format_unit(amount, unit, length="short", locale=locale)
    return format_unit(size, "digital-byte", length="long", locale=locale)


def type_names(accept: Iterable[str]) -> list[str]:
    names: list[str] = []
    for entry in accept:
        key = entry.lower()
        name = FORMAT_NAMES.get(key) or (translate(KIND_NAMES[key]) if key in KIND_NAMES else entry)
        if name not in names:
            names.append(name)
    return names


def types_text(accept: Iterable[str]) -> str | None:
    names = type_names(accept)
    return format_list(names, style="or", locale=request_locale()) if names else None


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def limits_text(rf: ResolvedField) -> str:
    """What may be chosen, in a few words: "PNG or JPEG, up to 5 MB"."""
    size, files = limits(rf)
    types = types_text(accept_list(rf))
    params: dict[str, Any] = {"types": types or "", "count": files}
    if size is not None:
        params["size"] = size_text(size)
    if files > 1:
        template = {
            (True, True): N_("%(types)s, up to %(size)s each; at most %(count)s files"),
            (True, False): N_("%(types)s; at most %(count)s files"),
            (False, True): N_("Any type of file, up to %(size)s each; at most %(count)s files"),
            (False, False): N_("Any type of file; at most %(count)s files"),
        }[bool(types), size is not None]
    else:
        template = {
            (True, True): N_("%(types)s, up to %(size)s"),
            (True, False): N_("%(types)s"),
            (False, True): N_("Any type of file, up to %(size)s"),
            (False, False): N_("Any type of file"),
        }[bool(types), size is not None]
    return _sentence(translate(Message(template, **params)))


def takes_images(accept: tuple[str, ...]) -> bool:
    return not accept or any(a.lower().startswith(IMAGE_TYPES) for a in accept)


def file_field(rf: ResolvedField, value: Any = None) -> dict[str, Any]:
    """What ``_field.html`` shows of a file field: its limits, the uploads a
    re-rendered post keeps (``value``), and the words its script uses (``{name}``
    is the file's name there; the rest is filled in here)."""
    size, files = limits(rf)
    accept = accept_list(rf)
    types = types_text(accept)
    drop = {
        (False, True): N_("You can also drop a file here or paste a screenshot."),
        (False, False): N_("You can also drop a file here."),
        (True, True): N_("You can also drop files here or paste a screenshot."),
        (True, False): N_("You can also drop files here."),
    }[files > 1, takes_images(accept)]
    words = {
        "failed": translate(Message(N_("%(name)s could not be uploaded. Try again."), name="{name}")),
        "busy": translate(Message(N_("%(name)s could not be uploaded: too many uploads for now. Try again later."),
                                  name="{name}")),
        "tooMany": translate(Message(N_("%(name)s was not added: at most %(count)s files."), name="{name}",
                                     count=files) if files > 1 else
                             Message(N_("%(name)s was not added: only one file can be attached."), name="{name}")),
        "uploading": translate(Message(N_("Uploading %(name)s…"), name="{name}")),
        "uploaded": translate(Message(N_("%(name)s is attached."), name="{name}")),
        "removed": translate(Message(N_("%(name)s was removed."), name="{name}")),
        "remove": translate(N_("Remove")),
        "removeName": translate(Message(N_("Remove %(name)s"), name="{name}")),
        "wait": translate(N_("The form will be sent when the upload has finished.")),
        "badType": translate(Message(N_("%(name)s is not an accepted type of file (%(types)s)."), name="{name}",
                                     types=types or "")),
    }
    if size is not None:
        words["tooBig"] = translate(Message(N_("%(name)s is too big: the limit is %(size)s."), name="{name}",
                                            size=size_text(size)))
    return {"limits": limits_text(rf), "drop": translate(drop), "max_size": size, "max_files": files,
            "accept": ",".join(accept), "words": words, "kept": kept_files(value)}


def kept_files(value: Any) -> list[dict[str, Any]]:
    """The uploads a re-rendered field keeps (a failed post's), as ``{id, name, size}``:
    the server may pass them as such, or only their ids."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    kept = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            kept.append({"id": item["id"], "name": str(item.get("name") or item["id"]),
                         "size": filesize(item.get("size"))})
        elif isinstance(item, str) and item:
            kept.append({"id": item, "name": translate(N_("A file you attached")), "size": ""})
    return kept


def filesize(size: Any) -> str:
    """``size`` bytes in the reader's units ("" for no size)."""
    return size_text(int(size)) if isinstance(size, (int, float)) and not isinstance(size, bool) else ""


def sent_files(value: Any) -> list[dict[str, Any]]:
    """A stored file field's value (``[{id, name, size, type, url, expiresAt}]``)
    as the thanks page links it; an entry without a link is not shown."""
    items = value if isinstance(value, (list, tuple)) else []
    return [{"name": str(item.get("name") or ""), "url": item["url"], "size": filesize(item.get("size"))}
            for item in items if isinstance(item, dict) and isinstance(item.get("url"), str)]

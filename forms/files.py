"""File fields: what ``accept`` means, how a file's type is judged, and the
name shown for it. Pure: bytes and strings in, answers out.

A file's type is detected from its first bytes by libmagic (``python-magic``
over Debian's ``libmagic1``: the ``file`` command's maintained database), never
taken from its name or the client's word. The name and the declared type only
get to *disagree*: a ``.png`` that holds HTML, or a part sent as ``image/png``
that holds a script, is refused. Nothing here decompresses anything: libmagic
runs without ``MAGIC_COMPRESS``, so a zip or gzip is typed by its own header.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from dataclasses import dataclass

import magic

from .messages import N_, Message

SNIFF_BYTES = 64 * 1024  # what the type is judged on: the first 64 KiB, at most
NAME_MAX = 200  # characters of a display name
_MIME_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/(\*|[a-z0-9][a-z0-9!#$&^_.+-]{0,126})$")
_EXT_RE = re.compile(r"^\.[a-z0-9][a-z0-9_+-]{0,31}$")
GENERIC = frozenset({"", "application/octet-stream", "binary/octet-stream"})
# The same type under two names (libmagic's spelling first).
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "application/x-zip-compressed": "application/zip",
            "application/x-pdf": "application/pdf", "text/xml": "application/xml", "image/x-png": "image/png",
            "application/x-gzip": "application/gzip", "audio/x-wav": "audio/wav", "image/x-ms-bmp": "image/bmp"}
# Extensions the platform's table may not know, for types libmagic reports.
_EXTRA_TYPES = {".log": "text/plain", ".md": "text/markdown", ".webp": "image/webp", ".heic": "image/heic"}
_TYPES = mimetypes.MimeTypes()
for _ext, _type in _EXTRA_TYPES.items():
    _TYPES.add_type(_type, _ext)


def canonical(mime: str) -> str:
    mime = mime.split(";", 1)[0].strip().lower()
    return _ALIASES.get(mime, mime)


def parse_accept(raw: object) -> tuple[str, ...] | list[str]:
    """``accept`` as a tuple of lower-case entries, or a list of problems.

    Takes a list (``["image/png", ".log"]``) or HTML's comma-separated string
    (``"image/*,.log"``); each entry is a MIME type, ``type/*`` or ``.ext``."""
    if isinstance(raw, str):
        items = [part.strip() for part in raw.split(",") if part.strip()]
    elif isinstance(raw, list) and all(isinstance(part, str) for part in raw):
        items = [part.strip() for part in raw]
    else:
        return ["must be a list of MIME types and extensions, or a comma-separated string of them."]
    if not items or len(items) > 50:
        return ["must name 1 to 50 MIME types or extensions."]
    bad = [item for item in items if not (_MIME_RE.match(item.lower()) or _EXT_RE.match(item.lower()))]
    if bad:
        return [f"{bad[0][:40]!r} is neither a MIME type (image/png, image/*) nor an extension (.log)."]
    return tuple(dict.fromkeys(canonical(item) if "/" in item else item.lower() for item in items))


def detect(head: bytes) -> str:
    """The MIME type of content that starts with ``head`` (at most SNIFF_BYTES)."""
    if not head:
        return "application/x-empty"
    return canonical(magic.from_buffer(head[:SNIFF_BYTES], mime=True))


def extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def type_of_extension(ext: str) -> str | None:
    found = _TYPES.types_map[True].get(ext) or _TYPES.types_map[False].get(ext)
    return canonical(found) if found else None


def _agrees(claimed: str, detected: str) -> bool:
    """Whether a claim (from a name or a header) fits the content. Plain text is
    what libmagic calls any text it has no better name for, so a text claim
    (``.csv``, ``.log``) fits it; HTML or SVG under a text name does not."""
    return claimed == detected or (claimed.startswith("text/") and detected == "text/plain")


def _matches(entry: str, detected: str, ext: str) -> bool:
    if entry.startswith("."):  # the name's extension, or content of the extension's type (a pasted "image")
        return entry == ext or type_of_extension(entry) == detected
    if entry.endswith("/*"):
        return detected.startswith(entry[:-1])
    return entry == detected or (entry.startswith("text/") and detected == "text/plain" and entry == (
        type_of_extension(ext) or ""))


def type_problem(detected: str, declared: str, name: str, accept: tuple[str, ...] | None) -> Message | None:
    """Why a file of content type ``detected`` is refused (None: it is not).

    ``declared`` is the type the client sent with it, ``name`` its file name,
    ``accept`` the field's list (None: anything)."""
    ext = extension(name)
    by_name = type_of_extension(ext) if ext else None
    declared = canonical(declared or "")
    if detected == "application/x-empty":
        return Message(N_("The file is empty."))
    if by_name is not None and by_name not in GENERIC and not _agrees(by_name, detected):
        return Message(N_("The file's name says %(claimed)s but it holds %(detected)s."), claimed=ext,
                       detected=detected)
    if declared not in GENERIC and not _agrees(declared, detected):
        return Message(N_("The file was sent as %(claimed)s but it holds %(detected)s."), claimed=declared,
                       detected=detected)
    if accept and not any(_matches(entry, detected, ext) for entry in accept):
        return Message(N_("This kind of file (%(detected)s) is not accepted here; accepted: %(accept)s."),
                       detected=detected, accept=", ".join(accept))
    return None


def display_name(raw: str | None) -> str:
    """A file name for display only: never a path. The last segment after any
    slash or backslash, normalised (NFC), without control or format characters
    (bidi overrides among them) or leading dots, at most NAME_MAX characters
    with its extension kept; ``file`` when nothing is left."""
    text = unicodedata.normalize("NFC", raw or "")
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] not in ("C",) and ch not in "\"<>|:*?")
    text = " ".join(text.split()).lstrip(". ")
    if len(text) > NAME_MAX:
        ext = extension(text)[:20]
        text = text[: NAME_MAX - len(ext)].rstrip() + ext
    return text or "file"


@dataclass(frozen=True, slots=True)
class FileLimits:
    """What one file field takes, after the operator's caps."""

    max_size: int
    max_files: int
    accept: tuple[str, ...] | None


def limits(max_size: int | None, max_files: int | None, accept: tuple[str, ...] | None,
           cap_size: int, cap_files: int) -> FileLimits:
    """A form's own limits can only be lower than the operator's."""
    return FileLimits(min(max_size or cap_size, cap_size), min(max_files or 1, cap_files), accept or None)

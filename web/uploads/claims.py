"""The uploads a submission names: checked against the session, the field and
its limits, then claimed in the submission's own transaction (store.submissions)."""

from __future__ import annotations

import dataclasses
from typing import Any

from forms import files
from forms.errors import SubmissionInvalid
from forms.messages import N_, Message
from forms.resolve import ResolvedForm
from forms.validate import CleanSubmission
from store.db import now_ms
from store.sessions import SessionRow
from web.state import state
from web.uploads.links import with_links
from web.uploads.receive import human_size

UNKNOWN = N_("This upload is not known here (or not to this session); upload the file again.")


@dataclasses.dataclass(frozen=True)
class Claims:
    clean: CleanSubmission  # file fields as [{id, name, size, type}]
    ids: tuple[str, ...]  # to claim, in the submission's transaction
    hook_values: dict[str, Any] | None  # the values as the webhook sends them (with links)


def file_fields(form: ResolvedForm) -> list[Any]:
    return [f for f in form.fields if f.type == "file"]


def check_uploads(form: ResolvedForm, form_name: str, clean: CleanSubmission, row: SessionRow) -> Claims:
    """Each id must name a stored upload of this session for this form and
    field, unclaimed and alive, within the field's limits now (the form may
    have changed since, and an ad-hoc form's upload met the operator's limits
    only): else a field error (422), as for any other field. A file field
    hidden by its rule is not in ``clean``: its uploads are not claimed."""
    fields = [f for f in file_fields(form) if clean.values.get(f.name)]
    if not fields:  # no file sent (an empty field stores [] as it is): nothing to check or claim
        return Claims(clean, (), None)
    st = state()
    wanted = [i for f in fields for i in clean.values[f.name]]
    found = st.attachments.get_many(wanted)
    now = now_ms()
    errors: dict[str, list[str]] = {}
    values = dict(clean.values)
    for f in fields:
        metas, problems = [], []
        limits = files.limits(f.max_size, f.max_files, f.accept, st.engine.file_caps.max_size,
                              st.engine.file_caps.max_files)
        for ident in clean.values[f.name]:
            upload = found.get(ident)
            if upload is None or upload.session_hash != row.token_hash or upload.status != "stored":
                problems.append(Message(UNKNOWN))
            elif upload.submission_id is not None:
                problems.append(Message(N_("This upload was already sent with a submission.")))
            elif upload.expires_at < now:
                problems.append(Message(N_("This upload has expired; upload the file again.")))
            elif upload.form != form_name or upload.field != f.name:
                problems.append(Message(N_("This upload was made for another field.")))
            elif (upload.size or 0) > limits.max_size:
                problems.append(Message(N_("The file is larger than %(size)s."), size=human_size(limits.max_size)))
            elif (problem := files.type_problem(upload.type or "", "", upload.name, limits.accept)) is not None:
                problems.append(problem)
            else:
                metas.append(upload.meta())
        if problems:
            errors[f.name] = list(dict.fromkeys(problems))
        values[f.name] = metas
    if errors:
        raise SubmissionInvalid(fields=errors)
    return Claims(dataclasses.replace(clean, values=values), tuple(wanted), with_links(values))


def gone(form: ResolvedForm, clean: CleanSubmission) -> SubmissionInvalid:
    """The claim found an upload taken or expired after the check (a race)."""
    names = [f.name for f in file_fields(form) if clean.values.get(f.name)]
    return SubmissionInvalid(fields={n: [Message(N_("This upload was already sent with a submission."))]
                                     for n in names})

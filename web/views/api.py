"""The JSON API: identity calls and resolved forms (camelCase, one error shape)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from forms.errors import IdentityUnverified, NotIdentified, UserMismatch, ValidationFailed
from forms.resolve import ResolvedForm
from forms.schema import humanize
from forms.validate import looks_like_email
from store import cursor as cursors
from store.once import use_once
from store.session_change import SessionChange
from store.sessions import SessionRow
from web.identity.current import current_identity
from web.identity.session import change_session, current_session, ensure_session, start_session
from web.identity.verify import check_user_hash, verify_identity_token
from web.plumbing.cors import PRIVATE_VARY
from web.plumbing.origins import check_state_change
from web.render.pages import cached_page, form_json
from web.schemas import bodies
from web.state import state
from web.uploads.links import item_with_links
from web.views.submit import submit_json

bp = Blueprint("api", __name__, url_prefix="/api")
bp.before_request(check_state_change)

# Query parameters Prefill reads itself; never passed to providers.
RESERVED_ARGS = frozenset({"embed", "widget", "accent", "theme"})


def form_args() -> dict[str, str]:
    return {k: v for k, v in request.args.items() if k not in RESERVED_ARGS}


def resolve_for_request(name: str, args: dict[str, str] | None = None) -> ResolvedForm:
    return state().engine.resolve(name, form_args() if args is None else args, current_identity())


PRIVATE = (("Cache-Control", "private, no-store"), ("Vary", PRIVATE_VARY))


def private(response: Response) -> Response:
    response.headers.update(PRIVATE)
    return response


# -- identity --------------------------------------------------------------
def me_payload(row: SessionRow | None) -> dict[str, Any]:
    st = state()
    ident = st.sessions.identity(row)
    return {
        "visitorId": row.visitor_id if row else None,
        "userId": ident.user_id,
        "verified": ident.is_verified,
        "userMetadata": st.sensitive.scrub(ident.metadata),
        "trustedKeys": sorted(k for k in ident.trusted if not st.sensitive.is_sensitive(k)),
        "sessionMetadata": st.sensitive.scrub(ident.session_metadata),
    }


def identity_answer(warnings: list[str], status: int = 200) -> tuple[Response, int]:
    body = {"success": True, **me_payload(current_session()), "warnings": warnings}
    return private(jsonify(body)), status


def _claims(body: dict[str, Any]) -> dict[str, Any]:
    claims = dict(body.get("userMetadata") or {})
    claims.update(body.get("metadata") or {})
    for key in ("email", "name"):
        if body.get(key) is not None:
            claims[key] = body[key]
    bodies.check_metadata(claims, "userMetadata")
    return claims


def _claim_warnings(user_id: str, claims: dict[str, Any], warnings: list[str]) -> None:
    if looks_like_email(user_id):
        warnings.append("userId looks like an email address; use a stable internal id instead.")
    if "createdAt" in claims:
        created = claims["createdAt"]
        try:
            ok = isinstance(created, str) and datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            ok = False
        if not ok:
            warnings.append("userMetadata.createdAt is not an ISO 8601 date-time.")


def verify(body: dict[str, Any], warnings: list[str]) -> tuple[bool, dict[str, Any]]:
    """(verified, trusted claims) for an identify; 401 before anything is written."""
    keys = state().keys
    token, given_hash = body.get("identityToken"), body.get("userHash")
    if not keys.enabled:
        if token:
            warnings.append("identityToken was ignored: identity verification is not configured.")
        if given_hash:
            warnings.append("userHash was ignored: identity verification is not configured.")
        return False, {}
    if not token and not given_hash:
        if keys.required:
            raise IdentityUnverified("Identity verification is required: send the userHash or identityToken your "
                                     "backend made for this userId.")
        warnings.append("No userHash or identityToken: the identity is only claimed (IDENTITY_VERIFICATION=optional);"
                        " it pre-fills but is not trusted.")
        return False, {}
    if given_hash is not None:
        if not keys.hmac_secrets:
            raise IdentityUnverified("userHash needs IDENTITY_SECRET or IDENTITY_SECRETS; send an identityToken.")
        if not check_user_hash(keys.hmac_secrets, body["userId"], given_hash):
            raise IdentityUnverified("userHash does not match userId.")
    trusted: dict[str, Any] = {}
    if token:
        current_session()  # a stale bearer session is its 401 before a single-use token (jti) is spent
        trusted = verify_identity_token(keys, token, body["userId"], current_app.config["IDENTITY_TOKEN_AUDIENCE"],
                                        spend=partial(use_once, state().db))
        problem = bodies.shape_problem(trusted)
        if problem:
            raise ValidationFailed(fields={"identityToken": [f"Claims are not acceptable: {problem}"]})
        bodies.check_metadata(trusted, "identityToken")
    return True, trusted


def prepare_identify(body: dict[str, Any], warnings: list[str]) -> Callable[[SessionChange], None]:
    """Check an identify completely (401/400 here); the returned step writes it."""
    claims = _claims(body)
    _claim_warnings(body["userId"], claims, warnings)
    verified, trusted = verify(body, warnings)
    user_id = body["userId"]
    if verified or not state().keys.enabled:
        return lambda tx: tx.identify(user_id, claims, trusted, verified)

    def claim(tx: SessionChange) -> None:
        # IDENTITY_VERIFICATION=optional: no proof. For the user this session is
        # already verified as, that proves nothing new and loses nothing: the
        # claims merge as updateUser's do. Any other user is a claimed identity.
        if tx.row.who == (user_id, True):
            tx.update_user(user_id, claims)
        else:
            tx.identify(user_id, claims, {}, False)

    return claim


def identify_session(body: dict[str, Any], warnings: list[str]) -> None:
    step = prepare_identify(body, warnings)
    with change_session(rotate=True) as tx:
        step(tx)


@bp.post("/session")
def new_session() -> tuple[Response, int]:
    body = bodies.load(bodies.SessionBody, bodies.read_json() if request.get_data() else {})
    visitor_id, warnings = body.get("visitorId"), []
    if visitor_id and not state().sessions.is_our_visitor(visitor_id):
        warnings.append("visitorId was not issued by this Prefill; a new one was issued instead.")
        visitor_id = None
    token, row = start_session(visitor_id)
    return private(jsonify({"sessionToken": token, "visitorId": row.visitor_id, "warnings": warnings})), 201


@bp.post("/identify")
def identify() -> tuple[Response, int]:
    body = bodies.load(bodies.IdentifyBody, bodies.read_json())
    warnings: list[str] = []
    identify_session(body, warnings)
    return identity_answer(warnings)


def _own_user(user_id: str) -> None:
    row = ensure_session()
    if row.user_id is None:
        raise NotIdentified()
    if user_id != row.user_id:
        raise UserMismatch()


@bp.post("/user")
def user() -> tuple[Response, int]:
    body = bodies.load(bodies.UserFields, bodies.read_json())
    warnings: list[str] = []
    _own_user(body["userId"])
    claims = _claims(body)
    _claim_warnings(body["userId"], claims, warnings)
    with change_session() as tx:
        tx.update_user(body["userId"], claims)  # checked again on the locked row
    return identity_answer(warnings)


@bp.post("/session/metadata")
def session_metadata() -> tuple[Response, int]:
    body = bodies.load(bodies.SessionMetadataBody, bodies.read_json())
    bodies.check_metadata(body["metadata"], "metadata")
    with change_session() as tx:
        tx.update_session_metadata(body["metadata"])
    return identity_answer([])


@bp.post("/update")
def update() -> tuple[Response, int]:
    """Deprecated combined call: identify-or-updateUser, then updateSession.
    Everything is checked first and written in one transaction: all or nothing."""
    body = bodies.load(bodies.UpdateBody, bodies.read_json())
    warnings = ["POST /api/update is deprecated: use /api/identify, /api/user and /api/session/metadata."]
    user_part, session_part = body.get("user"), body.get("session")
    steps: list[Callable[[SessionChange], None]] = []
    rotate = False
    if user_part:
        row = current_session()
        if row is None or row.user_id != user_part["userId"]:
            steps.append(prepare_identify(user_part, warnings))
            rotate = True
        else:
            claims = _claims({"userId": user_part["userId"], "email": user_part.get("email"),
                              "name": user_part.get("name"), "userMetadata": user_part.get("userMetadata"),
                              "metadata": user_part.get("metadata")})
            _claim_warnings(user_part["userId"], claims, warnings)
            steps.append(lambda tx: tx.update_user(user_part["userId"], claims))
    if session_part:
        bodies.check_metadata(session_part["metadata"], "session.metadata")
        steps.append(lambda tx: tx.update_session_metadata(session_part["metadata"]))
    with change_session(rotate=rotate) as tx:
        for step in steps:
            step(tx)
    response, status = identity_answer(warnings)
    response.headers["Deprecation"] = "true"
    return response, status


@bp.post("/reset")
def reset() -> tuple[Response, int]:
    with change_session(rotate=True) as tx:
        tx.reset()
    return identity_answer([])


@bp.get("/me")
def me() -> Response:
    return private(jsonify(me_payload(current_session())))


# -- forms -----------------------------------------------------------------
@bp.get("/forms")
def list_forms() -> Response:
    items = [{"name": p.name, "title": p.title or humanize(p.name)} for p in state().registry]
    return jsonify({"forms": items})


@bp.get("/forms/<name>")
def get_form(name: str) -> Response:
    form = resolve_for_request(name)
    (body,) = cached_page(form, "json", lambda: (form_json(form),))
    return Response(body, headers=(("Content-Type", "application/json"), *PRIVATE))  # private()'s, given whole


# -- submissions -------------------------------------------------------------
def page_params() -> tuple[int, str | None]:
    raw = request.args.get("limit", "50")
    try:
        limit = int(raw)
    except ValueError:
        limit = -1
    if not 1 <= limit <= 200:
        raise ValidationFailed(fields={"limit": ["Must be a whole number from 1 to 200."]})
    cursor = request.args.get("cursor") or None
    if cursor:
        cursors.decode(cursor)  # a bad cursor is a 400 whatever the session
    return limit, cursor


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise ValidationFailed(fields={"Idempotency-Key": ["Must be 1 to 255 printable characters."]})
    return key


@bp.post("/forms/<name>/submissions")
def create_submission(name: str) -> tuple[Response, int]:
    state().registry.get(name)  # 404 before anything else
    body = bodies.submission_body(bodies.read_json())
    args = body.get("args") or {}
    status, answer = submit_json(name, args, body["values"], idempotency_key(),
                                 lambda identity: state().engine.resolve(name, args, identity))
    return private(Response(answer, mimetype="application/json")), status


@bp.get("/submissions")
def list_submissions() -> Response:
    limit, cursor = page_params()
    row = current_session()
    items, nxt = state().submissions.history(
        current_identity(), row.visitor_id if row else None, limit, cursor)
    return private(jsonify({"items": [item_with_links(i) for i in items], "nextCursor": nxt}))

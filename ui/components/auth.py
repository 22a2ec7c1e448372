"""Presenter login (streamlit-authenticator). Learners never need it; presenter-only pages do.

Credentials come from `.streamlit/secrets.toml` ([auth] with bcrypt hashes), which `make run`
creates (`ui/presenter_secrets.py`). Secrets that may not grant access (the public example's key or
password, a short key) switch presenter features off. The login cookie is checked here before
streamlit-authenticator sees it: a cookie it cannot use ends at the login form, never at a traceback.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Collection
from datetime import datetime
from typing import Any

import jwt
import streamlit as st
import streamlit_authenticator as stauth

from ui.components.errors import log_error
from ui.logs import get_logger
from ui.presenter_secrets import PASSWORD_ENV, problems
from ui.words import t

logger = get_logger("auth")
def login_form() -> dict[str, Any]:
    """The login form's place, key and labels (streamlit-authenticator's field names, our words)."""
    return {"location": "main", "key": "presenter-login",
            "fields": {"Form name": t("frame.login_form"), "Username": t("frame.login_username"),
                       "Password": t("frame.login_password"), "Login": t("frame.login_button")}}



# streamlit-authenticator's own session key: while it is set, it reads no login cookie.
_NO_COOKIE = "logout"
_FAILED = "presenter-login.failed"
_IGNORED, _DELETED, _DELETE_KEY = "presenter-cookie.ignored", "presenter-cookie.deleted", "presenter-cookie.delete"
_warned: set[tuple[str, ...]] = set()
_warned_lock = threading.Lock()


def auth_config() -> dict[str, Any] | None:
    """A deep copy of [auth] from the secrets (Authenticate mutates it), or None if absent."""
    try:
        section = st.secrets["auth"]
    except Exception:  # KeyError, or StreamlitSecretNotFoundError when there is no secrets file
        return None
    return copy.deepcopy(section.to_dict())


def warn_once_if_refused() -> None:
    """At the app's first run (and again if the secrets change): a warning in the server log."""
    config = auth_config()
    found = problems(config) if config is not None else []  # no [auth] at all: a server for learners only
    if not found:
        return
    with _warned_lock:
        if tuple(found) in _warned:
            return
        _warned.add(tuple(found))
    logger.warning("Presenter features are refused: the secrets have %s. Move .streamlit/secrets.toml away and run "
                   "`make run` once to create your own (the example secrets are public).", ", ".join(found))


def cookie_problem(token: str | None, key: str, usernames: Collection[str], now: float) -> str | None:
    """Why a login cookie cannot log anyone in, or None if it is absent or good. Checks what
    streamlit-authenticator assumes (HS256, a known user, a numeric expiry) without ever raising."""
    if token is None:
        return None
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.InvalidTokenError:
        return "not a JWT"
    if algorithm != "HS256":
        return "unexpected signing algorithm"
    try:
        claims = jwt.decode(token, key, algorithms=["HS256"])
    except jwt.InvalidSignatureError:
        return "signed with another key"
    except jwt.ExpiredSignatureError:
        return "expired"
    except jwt.InvalidTokenError:
        return "malformed token"
    username, expiry = claims.get("username"), claims.get("exp_date")
    if not isinstance(username, str) or isinstance(expiry, bool) or not isinstance(expiry, int | float):
        return "malformed claims"
    if username not in usernames:
        return "user no longer configured"
    if expiry <= now:
        return "expired"
    return None


def _authenticator(config: dict[str, Any]) -> stauth.Authenticate:
    cookie = config["cookie"]
    return stauth.Authenticate(
        config["credentials"],
        cookie["name"],
        cookie["key"],
        float(cookie.get("expiry_days", 1)),
        auto_hash=False,
        login_sleep_time=float(config.get("login_sleep_time", 0.4)),
    )


def _usernames(config: dict[str, Any]) -> Collection[str]:
    return config["credentials"]["usernames"].keys()


def _forget_login() -> None:
    for key in ("authentication_status", "username", "name", "email", "roles"):
        st.session_state[key] = None
    st.session_state[_NO_COOKIE] = True


def _drop_bad_cookie(auth: stauth.Authenticate, config: dict[str, Any]) -> None:
    """Ignore (and delete) a login cookie the authenticator would choke on or must not trust."""
    if st.session_state.get("authentication_status"):
        return
    name = config["cookie"]["name"]
    # A plain dict: AppTest's cookie mapping answers any lookup with a mock, but iterates as empty.
    token = st.context.cookies.to_dict().get(name)
    problem = cookie_problem(token, config["cookie"]["key"], _usernames(config), datetime.now().timestamp())
    if problem is None:
        return
    if not st.session_state.get(_IGNORED):
        st.session_state[_IGNORED] = True
        # Never the token itself: a forged one is an attacker's text, a real one a credential.
        (logger.info if problem == "expired" else logger.warning)("Ignoring a presenter cookie: %s", problem)
        _forget_login()
    # st.context.cookies keeps the request's cookies for the whole session: this flag is what stops
    # streamlit-authenticator from reading the bad one.
    st.session_state[_NO_COOKIE] = True
    _delete_cookie(auth, name)


def _delete_cookie(auth: stauth.Authenticate, name: str) -> None:
    """Delete the cookie in the browser, sparing its next session. The cookie component deletes when
    drawn and answers True; it is drawn on every run until then (a rerun may remove it too early)."""
    if st.session_state.get(_DELETED):
        return
    if st.session_state.get(_DELETE_KEY) is True:
        st.session_state[_DELETED] = True
        return
    with contextlib.suppress(KeyError):  # its list of the browser's cookies may not have arrived yet
        auth.cookie_controller.cookie_model.cookie_manager.delete(name, key=_DELETE_KEY)


def _drop_stale_session(config: dict[str, Any]) -> None:
    """A session logged in as a user the secrets no longer have is logged out."""
    if st.session_state.get("authentication_status") and st.session_state.get("username") not in _usernames(config):
        logger.warning("Logging out a presenter session: user no longer configured")
        _forget_login()


def restore_from_cookie() -> None:
    """On every page (app.py, at the start of each run): a presenter's reload, which is a new session, is
    logged in again from the login cookie, as streamlit-authenticator would do on the login page only. A
    cookie with any problem is left to the login form (which ignores and deletes it); after a logout the
    session never reads the cookie again (st.context.cookies keeps the request's cookies)."""
    if st.session_state.get("authentication_status") or st.session_state.get(_NO_COOKIE):
        return
    config = auth_config()
    if config is None or problems(config):
        return
    key, usernames = config["cookie"]["key"], _usernames(config)
    token = st.context.cookies.to_dict().get(config["cookie"]["name"])
    if token is None or cookie_problem(token, key, usernames, datetime.now().timestamp()) is not None:
        return
    username = jwt.decode(token, key, algorithms=["HS256"])["username"]
    user = config["credentials"]["usernames"][username]
    st.session_state.update({"authentication_status": True, "username": username, "name": user.get("name"),
                             "email": user.get("email"), "roles": user.get("roles")})


def is_presenter() -> bool:
    """A presenter is logged in, as a user the secrets still have, and the secrets may grant access."""
    if not st.session_state.get("authentication_status"):
        return False  # a learner: no copy of the secrets (this runs several times on every rerun)
    config = auth_config()
    return config is not None and not problems(config) and st.session_state.get("username") in _usernames(config)


def require_presenter(why: str | None = None) -> bool:
    """On a presenter-only page: show the login form until a presenter is logged in (`why`: what the page is
    for, said under the form; the Runs page's by default)."""
    config = auth_config()
    if config is None:
        st.error(t("frame.login_not_configured", env=PASSWORD_ENV))
        return False
    if found := problems(config):
        example = any("example" in p for p in found)
        what = t("frame.login_example_secrets") if example else t("frame.login_unsafe_secrets")
        st.error(t("frame.login_off", what=what, problems=", ".join(found)))
        st.info(t("frame.login_switch_on", env=PASSWORD_ENV))
        return False
    _drop_stale_session(config)
    auth = _authenticator(config)
    _drop_bad_cookie(auth, config)
    try:
        auth.login(**login_form())
    except Exception:  # whatever the authenticator raises ends at the login form, not at a traceback
        error_id = log_error("the presenter login")
        _forget_login()
        if _FAILED not in st.session_state:  # one rerun, without the cookie, draws the form
            st.session_state[_FAILED] = error_id
            st.rerun()
        st.error(t("frame.login_failed", error_id=error_id))
        return False
    if failed := st.session_state.pop(_FAILED, None):
        st.error(t("frame.login_failed_again", error_id=failed))
    if st.session_state.get("authentication_status") is False:
        st.error(t("frame.login_wrong"))
    if is_presenter():
        auth.logout(t("frame.logout"), location="sidebar", key="presenter-logout")
        if is_presenter():
            return True
        st.info(t("frame.logged_out"))
        return False
    st.info(why or t("frame.presenters_only"))
    return False

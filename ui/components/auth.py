"""Presenter login (streamlit-authenticator). Learners never need it; presenter-only pages do.

Credentials come from `.streamlit/secrets.toml` ([auth] with bcrypt hashes); the committed
`secrets.toml.example` documents the shape. The app warns while example secrets are in use.
"""

from __future__ import annotations

import copy
from typing import Any

import bcrypt
import streamlit as st
import streamlit_authenticator as stauth

EXAMPLE_COOKIE_KEY = "example-cookie-key-change-me-at-least-32-bytes"
EXAMPLE_PASSWORD = "change-me"


def auth_config() -> dict[str, Any] | None:
    """A deep copy of [auth] from the secrets (Authenticate mutates it), or None if absent."""
    try:
        section = st.secrets["auth"]
    except Exception:  # KeyError, or StreamlitSecretNotFoundError when there is no secrets file
        return None
    return copy.deepcopy(section.to_dict())


def uses_example_secrets(config: dict[str, Any]) -> bool:
    if config["cookie"]["key"] == EXAMPLE_COOKIE_KEY:
        return True
    for user in config["credentials"]["usernames"].values():
        try:
            if bcrypt.checkpw(EXAMPLE_PASSWORD.encode(), str(user["password"]).encode()):
                return True
        except ValueError:
            continue
    return False


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


def is_presenter() -> bool:
    return bool(st.session_state.get("authentication_status"))


def require_presenter() -> bool:
    """On a presenter-only page: show the login form until a presenter is logged in."""
    config = auth_config()
    if config is None:
        st.error("Presenter login is not configured: copy `.streamlit/secrets.toml.example` to "
                 "`.streamlit/secrets.toml` and set your own cookie key and password hash.")
        return False
    if uses_example_secrets(config):
        st.warning("This app runs with the example cookie key or password from `secrets.toml.example`: "
                   "anyone who has read the repository can log in. Set your own in `.streamlit/secrets.toml`.")
    auth = _authenticator(config)
    auth.login(location="main", key="presenter-login", fields={"Form name": "Presenter login"})
    if st.session_state.get("authentication_status") is False:
        st.error("Username or password is incorrect.")
    if is_presenter():
        auth.logout("Log out", location="sidebar", key="presenter-logout")
        if is_presenter():
            return True
        st.info("Logged out.")
        return False
    st.info("This page is for presenters: it builds, imports and deletes shared runs.")
    return False

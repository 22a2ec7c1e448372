"""Presenter secrets: create `.streamlit/secrets.toml` once, and tell whether an [auth] section may
grant presenter access at all.

`python -m ui.presenter_secrets [PATH]` (what `make run` calls) writes the file only if it is missing:
a random cookie key, user `presenter`, and the bcrypt hash of `$DRCL_PRESENTER_PASSWORD` or of a
random password printed once. The committed `secrets.toml.example` is public, so its cookie key
and password never grant access (`problems`). No Streamlit here: the command runs before the app.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import sys
import tempfile
import tomllib
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import bcrypt

from ui.paths import ROOT

DEFAULT_PATH = ROOT / ".streamlit" / "secrets.toml"
PASSWORD_ENV = "DRCL_PRESENTER_PASSWORD"
USERNAME = "presenter"
COOKIE_NAME = "drcl_presenter"
EXAMPLE_COOKIE_KEY = "example-cookie-key-change-me-at-least-32-bytes"
EXAMPLE_PASSWORD = "change-me"
# PyJWT warns about shorter HMAC keys; a short key can be brute-forced offline from one cookie.
MIN_COOKIE_KEY = 32
# bcrypt reads only the first 72 bytes of a password (bcrypt 5 refuses longer ones).
MAX_PASSWORD_BYTES = 72


@lru_cache(maxsize=64)
def is_example_hash(password_hash: str) -> bool:
    """Whether a bcrypt hash is one of the example password (cached: a check costs ~0.25 s)."""
    try:
        return bcrypt.checkpw(EXAMPLE_PASSWORD.encode(), password_hash.encode())
    except ValueError:  # not a bcrypt hash: it matches no password, the example's included
        return False


def problems(auth: Mapping[str, Any]) -> list[str]:
    """Why this [auth] section must not grant presenter access, in words; empty if it may."""
    found = []
    cookie = auth.get("cookie")
    key = cookie.get("key") if isinstance(cookie, Mapping) else None
    if not isinstance(cookie, Mapping) or not isinstance(cookie.get("name"), str) or not isinstance(key, str):
        found.append("no cookie name and key")
    elif key == EXAMPLE_COOKIE_KEY:
        found.append("the example cookie key")
    elif len(key) < MIN_COOKIE_KEY:
        found.append(f"a cookie key shorter than {MIN_COOKIE_KEY} characters")
    credentials = auth.get("credentials")
    users = credentials.get("usernames") if isinstance(credentials, Mapping) else None
    if not isinstance(users, Mapping) or not users:
        found.append("no presenter accounts")
        return found
    for name, user in users.items():
        password = user.get("password") if isinstance(user, Mapping) else None
        if not isinstance(password, str):
            found.append(f"no password hash for user {name}")
        elif is_example_hash(password):
            found.append(f"the example password for user {name}")
    return found


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def secrets_toml(cookie_key: str, password_hash: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes.
    q = json.dumps
    return (
        "# Created by `python -m ui.presenter_secrets` (make run). Git ignores this file.\n"
        "# To change the password: delete this file and run `make run` again (set DRCL_PRESENTER_PASSWORD\n"
        "# to choose it); the new cookie key also logs out every presenter.\n\n"
        f"[auth.cookie]\nname = {q(COOKIE_NAME)}\nkey = {q(cookie_key)}\nexpiry_days = 1\n\n"
        f"[auth.credentials.usernames.{USERNAME}]\nname = \"Presenter\"\nemail = \"presenter@localhost\"\n"
        f"password = {q(password_hash)}\n"
    )


def write_new(path: Path, text: str) -> bool:
    """Write `text` to `path` with mode 0600, all or nothing, unless `path` exists; True if written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        # A hard link, unlike a rename, fails instead of replacing a file created meanwhile.
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def create(path: Path, password: str | None) -> str | None:
    """Create the secrets file if missing. Returns the random password when `password` is None and the
    file was created (for printing once), else None. Raises FileExistsError if the file exists."""
    generated = None
    if password is None:
        generated = password = secrets.token_urlsafe(12)
    if not write_new(path, secrets_toml(secrets.token_urlsafe(48), hash_password(password))):
        raise FileExistsError(path)
    return generated


def _check_existing(path: Path) -> int:
    try:
        auth = tomllib.loads(path.read_text(encoding="utf-8")).get("auth")
    except (OSError, tomllib.TOMLDecodeError) as err:
        print(f"presenter secrets: cannot read {path}: {err}", file=sys.stderr)
        return 1
    found = problems(auth) if isinstance(auth, Mapping) else ["no [auth] section"]
    if found:
        print(f"WARNING: presenter features are refused: {path} has {', '.join(found)}.\n"
              f"  Move the file away and run `make run` again to create your own (set {PASSWORD_ENV} to choose "
              "the password).", file=sys.stderr)
    else:
        print(f"presenter secrets: using {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui.presenter_secrets", description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    path = parser.parse_args(argv).path
    if path.exists():
        return _check_existing(path)
    # The login form strips what is typed, so the hash is of the stripped password.
    password = os.environ.get(PASSWORD_ENV, "").strip() or None
    if password == EXAMPLE_PASSWORD:
        print(f"{PASSWORD_ENV} is the example password, which the app refuses: choose another.", file=sys.stderr)
        return 2
    if password is not None and len(password.encode()) > MAX_PASSWORD_BYTES:
        print(f"{PASSWORD_ENV} is longer than {MAX_PASSWORD_BYTES} bytes, which bcrypt cannot hash.", file=sys.stderr)
        return 2
    try:
        generated = create(path, password)
    except FileExistsError:
        return _check_existing(path)
    if generated is None:
        print(f"presenter secrets: created {path} (user {USERNAME}, password from {PASSWORD_ENV}, stored as a bcrypt hash)")
    else:
        print(f"\n  Presenter login for this server: user {USERNAME}, password {generated}\n"
              f"  Shown once and stored only as a bcrypt hash in {path}. To change it, delete that file and run\n"
              f"  `make run` again (with {PASSWORD_ENV}=... to choose the password).\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

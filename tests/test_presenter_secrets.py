"""Presenter secrets: `python -m ui.presenter_secrets` (what `make run` calls) as a real subprocess, and
the rule that refuses the example's public secrets (or a short cookie key) wherever they turn up."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import bcrypt
import pytest

from ui.presenter_secrets import EXAMPLE_COOKIE_KEY, EXAMPLE_PASSWORD, PASSWORD_ENV, hash_password, problems

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / ".streamlit" / "secrets.toml.example"


def setup_secrets(path: Path, password: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != PASSWORD_ENV}
    if password is not None:
        env[PASSWORD_ENV] = password
    return subprocess.run([sys.executable, "-m", "ui.presenter_secrets", str(path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def read_auth(path: Path) -> dict:
    return tomllib.loads(path.read_text())["auth"]


def assert_own_secrets(path: Path, password: str) -> None:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert password not in text  # only its hash is stored
    auth = read_auth(path)
    assert auth["cookie"]["name"] == "drcl_presenter"
    assert auth["cookie"]["key"] != EXAMPLE_COOKIE_KEY and len(auth["cookie"]["key"]) >= 48
    stored = auth["credentials"]["usernames"]["presenter"]["password"]
    assert bcrypt.checkpw(password.encode(), stored.encode())
    assert problems(auth) == []
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


@pytest.mark.slow
def test_creates_secrets_from_the_environment_password(tmp_path):
    path = tmp_path / ".streamlit" / "secrets.toml"
    done = setup_secrets(path, "  a presenter's own pass phrase ")
    assert done.returncode == 0, done.stderr
    assert "pass phrase" not in done.stdout + done.stderr
    # The login form strips what is typed: the stored hash is the stripped password's.
    assert_own_secrets(path, "a presenter's own pass phrase")


@pytest.mark.slow
def test_creates_secrets_with_a_random_password_printed_once(tmp_path):
    path = tmp_path / "secrets.toml"
    first = setup_secrets(path, None)
    assert first.returncode == 0, first.stderr
    password = re.search(r"user presenter, password (\S+)", first.stdout).group(1)
    assert len(password) >= 16
    assert_own_secrets(path, password)
    # A second start keeps the file as it is and prints no password.
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    again = setup_secrets(path, "another password")
    assert again.returncode == 0, again.stderr
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert password not in again.stdout and "using" in again.stdout and not again.stderr


@pytest.mark.slow
def test_two_random_setups_differ(tmp_path):
    a, b = tmp_path / "a" / "secrets.toml", tmp_path / "b" / "secrets.toml"
    assert setup_secrets(a, None).returncode == setup_secrets(b, None).returncode == 0
    assert read_auth(a)["cookie"]["key"] != read_auth(b)["cookie"]["key"]


@pytest.mark.slow
def test_an_existing_example_copy_is_kept_and_warned_about(tmp_path):
    path = tmp_path / "secrets.toml"
    path.write_text(EXAMPLE.read_text())
    done = setup_secrets(path, None)
    assert done.returncode == 0  # the app still starts for learners; presenter features stay off
    assert path.read_text() == EXAMPLE.read_text()
    assert "presenter features are refused" in done.stderr and "example cookie key" in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("password", [EXAMPLE_PASSWORD, "x" * 73])
def test_refuses_an_unusable_environment_password(tmp_path, password):
    path = tmp_path / "secrets.toml"
    done = setup_secrets(path, password)
    assert done.returncode == 2 and PASSWORD_ENV in done.stderr
    assert not path.exists()


def test_make_run_creates_secrets_and_never_copies_the_example():
    recipe = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, timeout=60).stdout
    assert "-m ui.presenter_secrets .streamlit/secrets.toml" in recipe
    assert "secrets.toml.example" not in recipe


def own(key: str = "k" * 48, password_hash: str | None = None) -> dict:
    return {"cookie": {"name": "c", "key": key, "expiry_days": 1},
            "credentials": {"usernames": {"presenter": {"password": password_hash or hash_password("own password")}}}}


def test_problems_name_each_example_secret():
    example = tomllib.loads(EXAMPLE.read_text())["auth"]
    assert problems(example) == ["the example cookie key", "the example password for user presenter"]
    assert problems(own(key=EXAMPLE_COOKIE_KEY)) == ["the example cookie key"]
    # The example password under another salt is still the example password.
    assert problems(own(password_hash=hash_password(EXAMPLE_PASSWORD))) == ["the example password for user presenter"]
    assert problems(own()) == []


@pytest.mark.parametrize(("auth", "problem"), [
    (own(key="short-key"), "a cookie key shorter than 32 characters"),
    ({"credentials": own()["credentials"]}, "no cookie name and key"),
    ({"cookie": own()["cookie"], "credentials": {"usernames": {}}}, "no presenter accounts"),
    ({"cookie": own()["cookie"], "credentials": {"usernames": {"p": {"name": "P"}}}}, "no password hash for user p"),
])
def test_problems_refuse_unsafe_or_incomplete_secrets(auth, problem):
    assert problem in problems(auth)

"""The secret behind every keyed hash. Never in git: from $DRCL_HASH_KEY or a local key file.

Keys for a purpose (baseline salt of a day, full-stack id key) are derived from the master key
with HMAC, so runs are reproducible on one installation and unlinkable across installations.
"""

from __future__ import annotations

import hmac
import os
import secrets
from functools import cache
from pathlib import Path

ENV_VAR = "DRCL_HASH_KEY"
DEFAULT_KEY_FILE = Path(__file__).resolve().parent.parent / "data" / ".hash_key"


@cache
def master_key(path: Path = DEFAULT_KEY_FILE) -> bytes:
    """The master key: $DRCL_HASH_KEY (hex), else the key file, created on first use (0600)."""
    env = os.environ.get(ENV_VAR)
    if env:
        try:
            key = bytes.fromhex(env)
        except ValueError:
            raise ValueError(f"{ENV_VAR} must be hex (at least 32 hex digits)") from None
        if len(key) < 16:
            raise ValueError(f"{ENV_VAR} must be at least 16 bytes (32 hex digits)")
        return key
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
    try:
        os.link(tmp, path)  # atomic and never overwrites a key another process just made
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text().strip())


def derive(label: str, key: bytes | None = None) -> bytes:
    """A purpose key: HMAC(master, label)."""
    return hmac.digest(key if key is not None else master_key(), label.encode(), "sha256")

"""API keys (`X-API-Key`) for the collector, read from a file given with `--api-keys FILE`.

The file holds one key per line (blank lines and lines starting with `#` are skipped). The keys
are kept only as HMAC-SHA256 digests under a random key made at start-up, so the process's
memory holds no key in clear after loading, and a presented key is compared with every stored
digest in constant time (`hmac.compare_digest`, no early exit), so the time taken says nothing
about which key, or how much of one, matched.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable
from pathlib import Path

HEADER = "x-api-key"
MIN_LENGTH = 16
_KEY = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII without spaces: what an HTTP header carries intact


class ApiKeyError(ValueError):
    """An API key file that cannot be used, with the reason."""


class ApiKeys:
    def __init__(self, keys: Iterable[str]) -> None:
        self._secret = secrets.token_bytes(32)
        self._digests = tuple(self._digest(k) for k in keys)

    def _digest(self, key: str) -> bytes:
        return hmac.new(self._secret, key.encode("utf-8", "surrogateescape"), "sha256").digest()

    def __len__(self) -> int:
        return len(self._digests)

    def check(self, presented: str | None) -> bool:
        """True if `presented` is one of the keys (always False when no key is configured)."""
        if presented is None:
            return False
        digest = self._digest(presented)
        ok = False
        for ref in self._digests:
            ok |= hmac.compare_digest(digest, ref)
        return ok


def read_keys(path: Path) -> ApiKeys:
    """The keys of a key file; ApiKeyError if it is unreadable, empty, or a key is unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ApiKeyError(f"cannot read {path}: {err}") from None
    keys = []
    for n, line in enumerate(text.splitlines(), 1):
        key = line.strip()
        if not key or key.startswith("#"):
            continue
        if not _KEY.match(key):
            raise ApiKeyError(f"{path}, line {n}: a key is printable ASCII without spaces")
        if len(key) < MIN_LENGTH:
            raise ApiKeyError(f"{path}, line {n}: a key has at least {MIN_LENGTH} characters, this one {len(key)}")
        keys.append(key)
    if not keys:
        raise ApiKeyError(f"{path} holds no key (one key per line)")
    return ApiKeys(keys)

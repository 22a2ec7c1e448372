"""The masking operations the rails apply (the classification of every column is engine.schema).

Masking operations work on polars Series and compute each value once (per distinct input), so a
million hits from a hundred thousand visitors cost a hundred thousand hashes, not a million.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable

import polars as pl
import polars_hash as plh

from engine import keys

# --- masking operations -----------------------------------------------------------------------


def per_unique(frame: pl.DataFrame, keys: list[str], fn: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
    """Apply fn to the distinct rows of `keys` and spread its new columns back to every row.

    Hits repeat the same URL, user agent and IP many times: work per distinct value, not per hit.
    Rows are matched on a 64-bit hash of the key columns (joining on u64 instead of long strings
    is several times faster; a collision needs ~4e9 distinct keys to become likely). `fn` gets
    the distinct rows plus a `_k` column it must keep."""
    sel = frame.select(keys).with_columns(_k=_row_key(keys))
    out = fn(sel.unique("_k", keep="any")).drop(keys)
    return sel.select("_k").join(out, on="_k", how="left", maintain_order="left").drop("_k")


_KEY_SEED = 0x5EED
_KEY_MIX = 0x9E3779B97F4A7C15  # odd 64-bit constant: multiplying by it (mod 2**64) is a bijection


def _row_key(keys: list[str]) -> pl.Expr:
    """A 64-bit hash of each row's key columns: each column hashed on its own (with its own seed) and
    the hashes chained by multiply-xor (wrapping u64), several times cheaper than hashing a struct of
    them, which first encodes every row."""
    key = pl.col(keys[0]).hash(_KEY_SEED)
    for i, k in enumerate(keys[1:], start=1):
        key = (key * pl.lit(_KEY_MIX, pl.UInt64)).xor(pl.col(k).hash(_KEY_SEED + i))
    return key


def hmac_key_text(key: bytes) -> str:
    """The HMAC key as the native hasher takes it: the purpose key's hex text (64 ASCII bytes for a
    32-byte key, one HMAC block, used as is). See docs/hashing.md for why this stays a keyed PRF."""
    return key.hex()


def hmac_hex(values: pl.Expr, key: bytes) -> pl.Expr:
    """HMAC-SHA256 (first 64 bits, hex) of each value, computed over the whole column in native code
    (polars-hash, Rust); null stays null."""
    return plh.CryptographicHashingNameSpace(values).hmac_sha256(key=hmac_key_text(key)).str.slice(0, 16)


def reference_hmac_hex(key: bytes, values: list[str | None]) -> list[str | None]:
    """The same keyed hash one value at a time in Python (the definition the native one is tested against)."""
    k = hmac_key_text(key).encode()
    return [None if v is None else hmac.digest(k, v.encode(), "sha256")[:8].hex() for v in values]


def keyed_hash(values: pl.Series, key: bytes) -> pl.Series:
    """HMAC-SHA256 (first 64 bits, hex) of each value under a secret key; null stays null."""
    def fn(u: pl.DataFrame) -> pl.DataFrame:
        return u.with_columns(h=hmac_hex(pl.col("v"), key))

    return per_unique(pl.DataFrame({"v": values}), ["v"], fn)["h"].rename(values.name)


def keyed_hash_daily(values: pl.Series, dates: pl.Series, label: str, rotate: bool) -> pl.Series:
    """Keyed hash whose key is derived per day (rotate) or fixed: a daily key unlinks days."""
    if not rotate:
        return keyed_hash(values, keys.derive(f"{label}:fixed"))
    return per_unique(pl.DataFrame({"v": values, "d": dates}), ["v", "d"], lambda u: _hash_per_day(u, label))["h"].rename(values.name)


def keyed_hash_daily_distinct(values: pl.Series, dates: pl.Series, label: str, rotate: bool) -> pl.Series:
    """`keyed_hash_daily` of (value, date) pairs the caller already made distinct: no second look
    for repeats."""
    if not rotate:
        return pl.select(hmac_hex(pl.lit(values), keys.derive(f"{label}:fixed"))).to_series().rename(values.name)
    frame = pl.DataFrame({"v": values, "d": dates}).with_row_index("_i")
    return _hash_per_day(frame, label).sort("_i")["h"].rename(values.name)


def _hash_per_day(u: pl.DataFrame, label: str) -> pl.DataFrame:
    # One native pass per day over that day's values (a run spans days, not millions).
    parts = [
        part.with_columns(h=hmac_hex(pl.col("v"), keys.derive(f"{label}:{day}")))
        for (day,), part in u.group_by("d", maintain_order=True)
    ]
    return pl.concat(parts) if parts else u.with_columns(h=pl.lit(None, pl.String))


def _truncate_one(s: str, v4_bits: int, v6_bits: int) -> str | None:
    try:
        addr = ipaddress.ip_address(s)
    except ValueError:
        return None
    bits = v4_bits if addr.version == 4 else v6_bits
    return str(ipaddress.ip_network(f"{addr}/{bits}", strict=False).network_address)


def truncate_ip(ip: pl.Series, v4_bits: int, v6_bits: int) -> pl.Series:
    """Zero the host part: keep the first v4_bits of IPv4 and v6_bits of IPv6 (malformed -> null).

    Plain dotted IPv4 and full 8-group IPv6 are truncated with vectorised integer masks; other
    spellings (`::`, embedded IPv4) go through `ipaddress`, as do the few distinct results."""
    v4 = pl.col("v").str.extract_groups(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")
    six = pl.col("v").str.to_lowercase().str.extract_groups("^" + ":".join(["([0-9a-f]{1,4})"] * 8) + "$")
    # Extract once into columns: a struct field used in several expressions is re-evaluated.
    frame = (
        pl.DataFrame({"v": ip.unique()})
        .with_columns(v4.struct.rename_fields([f"a{i}" for i in range(4)]).alias("_4"),
                      six.struct.rename_fields([f"g{i}" for i in range(8)]).alias("_6"))
        .unnest("_4", "_6")
        .with_columns([pl.col(f"a{i}").cast(pl.Int64, strict=False) for i in range(4)]
                      + [pl.col(f"g{i}").str.to_integer(base=16, strict=False) for i in range(8)])
    )
    octets = [pl.col(f"a{i}") for i in range(4)]
    # polars expressions have no shifts: multiply, floor-divide and modulo instead.
    v4_int = pl.sum_horizontal([o * (1 << (24 - 8 * i)) for i, o in enumerate(octets)])
    valid4 = pl.all_horizontal([(o <= 255).fill_null(False) for o in octets])
    masked4 = v4_int - v4_int % (1 << (32 - v4_bits))
    t4 = pl.concat_str([((masked4 // (1 << (24 - 8 * i))) % 256).cast(pl.String) for i in range(4)], separator=".")
    groups = [pl.col(f"g{i}") for i in range(8)]
    kept = [min(max(v6_bits - 16 * i, 0), 16) for i in range(8)]
    t6 = pl.concat_str(
        [(g - g % (1 << (16 - k))).map_batches(_hex_groups, return_dtype=pl.String) for g, k in zip(groups, kept, strict=True)],
        separator=":",
    )
    frame = frame.select("v", t=pl.when(valid4).then(t4).when(pl.all_horizontal([g.is_not_null() for g in groups])).then(t6))
    rest = frame.filter(pl.col("t").is_null() & pl.col("v").is_not_null())
    if rest.height:
        fixed = pl.Series([_truncate_one(x, v4_bits, v6_bits) for x in rest["v"].to_list()], dtype=pl.String)
        frame = frame.update(rest.with_columns(t=fixed), on="v")
    # Canonical spelling (RFC 5952, `2a00:7bff::`): the usual trailing run of zero groups is
    # compressed with a regex; addresses with other zero runs go through `ipaddress`.
    t = pl.col("t")
    internal_run = t.str.contains(r"(^|:)0:0:[0-9a-f]*[1-9a-f]") | t.str.contains(r"^0:0:0:0:0:0:0:0$")
    frame = frame.with_columns(
        t=pl.when(t.str.contains(":") & ~t.str.contains("::") & ~internal_run).then(t.str.replace(r"(:0){2,}$", "::")).otherwise(t)
    )
    odd = frame.filter(pl.col("t").str.contains(":") & internal_run & ~pl.col("t").str.contains("::"))
    if odd.height:
        frame = frame.update(odd.with_columns(t=pl.Series([str(ipaddress.ip_address(x)) for x in odd["t"].to_list()], dtype=pl.String)), on="v")
    return pl.DataFrame({"v": ip}).join(frame, on="v", how="left", maintain_order="left", nulls_equal=True)["t"].rename(ip.name)


def _hex_groups(s: pl.Series) -> pl.Series:
    return _HEX16.gather(s.fill_null(0)).set(s.is_null(), None)


_HEX16 = pl.Series([f"{i:x}" for i in range(1 << 16)])


_UA_RULES = [  # (regex, browser family), first match wins; order matters (Edge and Samsung say Chrome too)
    (r"Edg/", "Edge"), (r"SamsungBrowser/", "Samsung Internet"), (r"Firefox/", "Firefox"),
    (r"Chrome/", "Chrome"), (r"Version/[\d.]+.*Safari/", "Safari"),
]
_OS_RULES = [(r"iPhone|iPad", "iOS"), (r"Android", "Android"), (r"Windows", "Windows"), (r"Macintosh", "macOS"), (r"Linux|X11", "Linux")]


def reduce_user_agent(ua: pl.Series) -> pl.DataFrame:
    """Browser family, OS and device class of each user agent; the rest of the string is dropped."""
    s = pl.col("ua")

    def first_match(rules: list[tuple[str, str]]) -> pl.Expr:
        expr = pl.lit("Other")
        for pattern, name in reversed(rules):
            expr = pl.when(s.str.contains(pattern)).then(pl.lit(name)).otherwise(expr)
        return expr

    def reduce(u: pl.DataFrame) -> pl.DataFrame:
        return u.with_columns(
            browser_family=first_match(_UA_RULES),
            os=first_match(_OS_RULES),
            device_class=pl.when(s.str.contains("iPad|Tablet") | (s.str.contains("Android") & ~s.str.contains("Mobile"))).then(pl.lit("tablet"))
            .when(s.str.contains("Mobile|iPhone")).then(pl.lit("mobile"))
            .otherwise(pl.lit("desktop")),
        )

    return per_unique(pl.DataFrame({"ua": ua}), ["ua"], reduce)


EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+(@|%40)[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
REDACTED = "[redacted]"


def url_parts(url: pl.Series) -> pl.DataFrame:
    """Path (no scheme, host or query) and the raw query string (null if none) of each URL."""
    return pl.DataFrame({"url": url}).select(
        path=pl.col("url").str.replace(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*", "").str.replace(r"[?#].*$", "").replace("", "/"),
        query=pl.col("url").str.extract(r"\?([^#]*)"),
    )


def query_param(query: pl.Series, name: str) -> pl.Series:
    """Value of one query parameter (null if absent)."""
    return query.str.extract(rf"(?:^|&){name}=([^&]*)")


def filter_query(query: pl.Series, allowed: tuple[str, ...]) -> pl.Series:
    """Keep only allowed parameters, and mask any value that looks like an e-mail address."""
    frame = pl.DataFrame({"q": query}).with_row_index("i")
    has = frame.filter(pl.col("q").is_not_null())
    if has.height == 0:
        return pl.Series(query.name, [None] * len(query), dtype=pl.String)
    kept = (
        has.with_columns(p=pl.col("q").str.split("&"))
        .explode("p")
        .with_columns(name=pl.col("p").str.extract(r"^([^=]*)"), value=pl.col("p").str.extract(r"=(.*)$"))
        .filter(pl.col("name").is_in(list(allowed)))
        .with_columns(value=pl.when(pl.col("value").str.contains(EMAIL_PATTERN)).then(pl.lit(REDACTED)).otherwise(pl.col("value")))
        .group_by("i", maintain_order=True)
        .agg(pl.concat_str(["name", pl.lit("="), pl.col("value").fill_null("")]).str.join("&").alias("kept"))
    )
    return frame.join(kept, on="i", how="left", maintain_order="left")["kept"].rename(query.name or "query")


def referrer_host(referrer: pl.Series) -> pl.Series:
    return referrer.str.extract(r"^[a-zA-Z][a-zA-Z0-9+.-]*://([^/?#:]+)").str.to_lowercase()

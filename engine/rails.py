"""The two rails, computed from hits alone: the always-on cookieless baseline (Rail A) and the
consent-gated full stack (Rail B), plus the consent log. All outputs are masked."""

from __future__ import annotations

import polars as pl

from engine import datasets, geoip, keys, masking, schema
from engine.consent import SIGNALS, consent_text, gcs_code
from engine.scenario import Scenario

_UTM = ("utm_source", "utm_medium", "utm_campaign")
# Key labels of the keyed hashes (engine.keys.derive): one place, so data-rights look-ups match.
DEVICE_ID_LABEL = "fullstack-device"
USER_ID_LABEL = "fullstack-user"
CONSENT_ID_LABEL = "consent-id"
SAMPLING_LABEL = "fullstack-sampling"
# The delivery plan's sampling salt: the same browsers stay in the sample across runs and tiers.
SAMPLING_SALT = "002"
_SOCIAL = ("facebook", "instagram", "linkedin", "t.co", "twitter", "x.com", "tiktok", "reddit", "pinterest")
_SEARCH = ("google.", "bing.", "duckduckgo.", "yahoo.", "ecosia.", "baidu.", "yandex.")


def _channel(utm_medium: pl.Expr, ref_host: pl.Expr) -> pl.Expr:
    """Acquisition channel of a hit from its UTM medium and referrer host (null: no signal)."""
    host = ref_host.fill_null("")
    return (
        pl.when(utm_medium.is_in(["cpc", "ppc", "paid"])).then(pl.lit("paid"))
        .when(utm_medium == "email").then(pl.lit("email"))
        .when(utm_medium == "social").then(pl.lit("social"))
        .when(pl.any_horizontal([host.str.contains(s, literal=True) for s in _SEARCH])).then(pl.lit("organic"))
        .when(pl.any_horizontal([host.str.contains(s, literal=True) for s in _SOCIAL])).then(pl.lit("social"))
        .when(host != "").then(pl.lit("referral"))
        .otherwise(pl.lit(None, pl.String))
    )


def _url_features(u: pl.DataFrame) -> pl.DataFrame:
    parts = masking.url_parts(u["url"])
    q = parts["query"]
    return u.with_columns(path=parts["path"], _query=q, gclid=masking.query_param(q, "gclid"),
                          **{k: masking.query_param(q, k) for k in _UTM})


def _source_features(u: pl.DataFrame) -> pl.DataFrame:
    return u.with_columns(referrer_host=masking.referrer_host(u["referrer"])).with_columns(
        channel=_channel(pl.col("utm_medium"), pl.col("referrer_host"))
    )


def hit_context(hits: pl.DataFrame, scenario: Scenario) -> pl.DataFrame:
    """What both rails derive from a hit's raw fields: path, UTM, referrer host, channel, country,
    reduced user agent and (if kept) the truncated IP. Raw fields are not carried on. Each is
    computed once per distinct URL, referrer, IP or user agent."""
    url = masking.per_unique(hits, ["url"], _url_features)
    source = masking.per_unique(hits.select("referrer").with_columns(url["utm_medium"]), ["referrer", "utm_medium"], _source_features)
    ip_t = (
        masking.truncate_ip(hits["ip"], scenario.rails.ipv4_prefix_bits, scenario.rails.ipv6_prefix_bits)
        if scenario.masking.store_truncated_ip
        else pl.repeat(None, hits.height, dtype=pl.String, eager=True)
    )
    return pl.concat(
        [url, source, masking.reduce_user_agent(hits["user_agent"]),
         pl.DataFrame({"country": geoip.country_of(hits["ip"]), "ip_truncated": ip_t})],
        how="horizontal",
    )


_COMMON = ("event_id", "ts", "date", "event", "path", *_UTM, "referrer_host", "channel", "country", "ip_truncated",
           "browser_family", "os", "device_class")


def baseline(hits: pl.DataFrame, ctx: pl.DataFrame, scenario: Scenario) -> pl.DataFrame:
    """Rail A: page views and server-known events, identity = HMAC(salt, site|ip|user agent).

    Runs server side, so consent state and ad blockers do not change what it records."""
    site = datasets.site(scenario.site.kind)
    keep = hits["event_type"].is_in(["page_view", *site["server_events"]])
    h = hits.select("event_id", "event_type", "ts", "site", "ip", "user_agent", "revenue", "transaction_id").filter(keep)
    c = ctx.select(*(k for k in _COMMON if k in ctx.columns)).filter(keep)
    date = h["ts"].dt.date()
    visitor_hash = _baseline_hash(h, date, scenario)
    server = h["event_type"].is_in(site["server_events"])
    return c.with_columns(
        event_id=h["event_id"],
        ts=h["ts"],
        date=date,
        event=h["event_type"],
        visitor_hash=visitor_hash,
        revenue=pl.when(pl.lit(server)).then(pl.lit(h["revenue"])),
        transaction_id=pl.when(pl.lit(server)).then(pl.lit(h["transaction_id"])),
    ).select(*_COMMON, "visitor_hash", "revenue", "transaction_id")


def _baseline_hash(h: pl.DataFrame, date: pl.Series, scenario: Scenario) -> pl.Series:
    rotate = scenario.rails.baseline_salt == "daily"

    def hash_identity(u: pl.DataFrame) -> pl.DataFrame:
        ident = u.select(pl.concat_str(["site", "ip", "user_agent"], separator="|")).to_series()
        return u.with_columns(visitor_hash=masking.keyed_hash_daily_distinct(ident, u["date"], "baseline-salt", rotate))

    return masking.per_unique(h.select("site", "ip", "user_agent", date=date), ["site", "ip", "user_agent", "date"],
                              hash_identity)["visitor_hash"]


def baseline_ids(hits: pl.DataFrame, scenario: Scenario) -> pl.DataFrame:
    """The baseline rail's identity columns alone (event_id, date, visitor_hash), exactly as `baseline`
    writes them: what linkability needs of the baseline under another salt, without its context."""
    site = datasets.site(scenario.site.kind)
    h = hits.select("event_id", "event_type", "ts", "site", "ip", "user_agent").filter(
        hits["event_type"].is_in(["page_view", *site["server_events"]]))
    date = h["ts"].dt.date()
    return pl.DataFrame({"event_id": h["event_id"], "date": date, "visitor_hash": _baseline_hash(h, date, scenario)})


def sampling_position(hits: pl.DataFrame) -> pl.Series:
    """Each hit's browser's place in the sampling order, uniform in [0, 1): a keyed hash of the
    browser (site, IP, user agent) with the sampling salt, so a browser's whole journey is kept or
    dropped together and the same browsers are kept in every run (and by the collector)."""
    def position(u: pl.DataFrame) -> pl.DataFrame:
        ident = u.select(pl.concat_str([pl.lit(SAMPLING_SALT), "site", "ip", "user_agent"], separator="|")).to_series()
        h = masking.keyed_hash(ident, keys.derive(SAMPLING_LABEL))
        return u.with_columns(p=h.str.slice(0, 13).str.to_integer(base=16).cast(pl.Float64) / float(16**13))

    return masking.per_unique(hits.select("site", "ip", "user_agent"), ["site", "ip", "user_agent"], position)["p"]


def fullstack_sends(hits: pl.DataFrame, scenario: Scenario, pings: bool = True) -> pl.Series:
    """Which hits the client-side tags send: not stopped by an ad blocker (unless a first-party
    proxy is on), with analytics consent or, in advanced mode and where `pings` exist, as a
    cookieless ping; and only from browsers inside the sampling tier."""
    blocked = hits["blocker"] & (not scenario.rails.server_side_proxy)
    send_ping = pings and scenario.consent.mode == "advanced"
    keep = ~blocked & (hits["analytics_storage"] | send_ping)
    rate = scenario.rails.fullstack_sampling / 100
    if rate < 1:
        keep = keep & (sampling_position(hits) < rate)
    return keep


def fullstack(hits: pl.DataFrame, ctx: pl.DataFrame, scenario: Scenario) -> pl.DataFrame:
    """Rail B: the client-side tag stack under Consent Mode v2.

    Blocked hits vanish unless a first-party server-side proxy is on; without analytics consent,
    basic mode sends nothing and advanced mode sends a cookieless ping without any identifier.
    Below the 100 % sampling tier, only the browsers inside the sample send anything."""
    keep = fullstack_sends(hits, scenario)
    rate = scenario.rails.fullstack_sampling / 100
    h = hits.select("event_id", "event_type", "ts", "session_start", "client_id", "user_email", "user_agent", "language",
                    "revenue", "transaction_id", "client_ts", "received_at", *SIGNALS).filter(keep)
    c = ctx.select(*(k for k in _COMMON if k in ctx.columns), "_query", "gclid").filter(keep)
    full = h["analytics_storage"]
    date = h["ts"].dt.date()
    rotate = scenario.masking.key_rotation == "daily"
    device_id = masking.keyed_hash_daily(h["client_id"], date, DEVICE_ID_LABEL, rotate)
    user_id = masking.keyed_hash_daily(h["user_email"], date, USER_ID_LABEL, rotate)
    ua_hash = masking.keyed_hash(h["user_agent"], keys.derive("fullstack-ua"))
    kept_query = masking.per_unique(
        c.select("_query"), ["_query"], lambda u: u.with_columns(k=masking.filter_query(u["_query"], scenario.masking.url_allowed_params))
    )["k"]
    gclid = c["gclid"]
    ads = h["ad_storage"]
    session_id = pl.select(
        pl.when(pl.lit(full)).then(pl.struct(pl.lit(device_id), pl.lit(h["session_start"])).hash(7).cast(pl.String))
    ).to_series()
    return c.with_columns(
        event_id=h["event_id"],
        ts=h["ts"],
        date=date,
        event=h["event_type"],
        is_ping=~full,
        gcs=pl.select(gcs_code(pl.lit(ads), pl.lit(full))).to_series(),
        device_id=pl.when(pl.lit(full)).then(pl.lit(device_id)),
        session_id=session_id,
        user_id=pl.when(pl.lit(full)).then(pl.lit(user_id)),
        url=pl.when(pl.lit(full)).then(
            pl.when(pl.lit(kept_query).is_not_null()).then(pl.concat_str([pl.col("path"), pl.lit("?"), pl.lit(kept_query)])).otherwise(pl.col("path"))
        ),
        gclid=pl.when(pl.lit(full & ads)).then(pl.lit(gclid)),
        has_ad_click=pl.lit(gclid).is_not_null(),
        ua_hash=pl.when(pl.lit(full)).then(pl.lit(ua_hash)),
        language=pl.when(pl.lit(full)).then(pl.lit(h["language"])),
        revenue=pl.when(pl.lit(full)).then(pl.lit(h["revenue"])),
        transaction_id=pl.when(pl.lit(full)).then(pl.lit(h["transaction_id"])),
        **{s: h[s] for s in SIGNALS},
        client_ts=h["client_ts"],
        received_at=h["received_at"],
        sample_rate=pl.lit(rate, pl.Float64),
    ).with_columns(
        # A ping carries no page or campaign detail beyond the ad-click flag (Google Consent Mode v2 documentation:
        # timestamp, user agent, referrer, ad-click flag, consent state).
        [pl.when(pl.col("is_ping")).then(None).otherwise(pl.col(k)).alias(k) for k in ("path", *_UTM, "channel", "ip_truncated")]
    ).select(
        *_COMMON, "is_ping", "gcs", "device_id", "session_id", "user_id", "url", "gclid", "has_ad_click", "ua_hash",
        "language", "revenue", "transaction_id", *SIGNALS, "client_ts", "received_at", "sample_rate",
    )


def consent_log(hits: pl.DataFrame, ctx: pl.DataFrame, scenario: Scenario) -> pl.DataFrame:
    """One row per consent signal per decision: who (keyed ids only), what, shown which text, when."""
    keep = hits["consent_choice"].is_not_null()
    h = hits.filter(keep)
    c = ctx.filter(keep)
    if h.height == 0:
        return schema.empty("consent_log")
    method = h["consent_choice"]
    banner = scenario.consent.banner
    version, text = consent_text(banner)
    gpc_version, gpc_text = consent_text("gpc")
    is_gpc = method == "gpc"
    base = pl.DataFrame(
        {
            "anonymous_id": masking.keyed_hash(h["consent_id"], keys.derive(CONSENT_ID_LABEL)),
            "method": method,
            "ip_hash": masking.keyed_hash(h["ip"], keys.derive("consent-ip")),
            "ua_hash": masking.keyed_hash(h["user_agent"], keys.derive("consent-ua")),
            "consent_version": pl.select(pl.when(pl.lit(is_gpc)).then(pl.lit(gpc_version)).otherwise(pl.lit(version))).to_series(),
            "consent_text": pl.select(pl.when(pl.lit(is_gpc)).then(pl.lit(gpc_text)).otherwise(pl.lit(text))).to_series(),
            "country": c["country"],
            "ts": h["consent_ts"],
            **{s: h[s] for s in SIGNALS},
        }
    )
    return (
        base.unpivot(index=[k for k in base.columns if k not in SIGNALS], on=list(SIGNALS), variable_name="consent_type", value_name="granted")
        .with_columns(date=pl.col("ts").dt.date())
        .sort("ts", "anonymous_id", "consent_type")
        .select(schema.columns("consent_log", run_id=False))
    )


def basic_mode_view(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """An advanced-mode run as basic mode would have recorded it: the same rows minus the
    cookieless pings (basic mode sends nothing before consent; everything else is identical)."""
    return {**tables, "fullstack_events": tables["fullstack_events"].filter(~pl.col("is_ping"))}


"""Consent decisions (who answers the banner, how and when), Consent Mode v2 signals and gcs codes."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from engine import datasets
from engine.calibrate import norm_ppf, recentre, sigmoid
from engine.scenario import ConsentConfig, RegionDefaults
from engine.schema import SIGNALS as SIGNALS  # the Consent Mode v2 signals belong to this module's surface

CHOICES = ("accept_all", "reject_all", "custom", "gpc", "ignored", "no_banner")


def accept_rate(banner: str) -> float:
    """Published share accepting all among visitors who decide, for a banner design (Didomi 2024)."""
    return float(datasets.calibration()["consent"]["accept_rate_given_decision"][banner])


def gcs_code(ad_storage: pl.Expr, analytics_storage: pl.Expr) -> pl.Expr:
    """Google's gcs parameter: G1 + ad_storage bit + analytics_storage bit (G100 ... G111)."""
    return pl.concat_str([pl.lit("G1"), ad_storage.cast(pl.Int8).cast(pl.String), analytics_storage.cast(pl.Int8).cast(pl.String)])


def regional_default(country: pl.Series, defaults: RegionDefaults) -> pl.Series:
    """The consent state before any choice (granted: True) for visitors from each country: the
    scenario's default for the country's region; an unknown country counts as `rest`."""
    granted = {r: d == "granted" for r, d in defaults.model_dump().items()}
    by_country = {c: granted[r] for c, r in datasets.country_region().items()}
    return country.replace_strict(by_country, default=granted["rest"], return_dtype=pl.Boolean).alias("default_granted")


def decide(visitors: pl.DataFrame, draws: pl.DataFrame, cfg: ConsentConfig) -> pl.DataFrame:
    """Per visitor: the choice, the final state of each signal, and at which of their events
    (`decision_seq`, null if never) and how long after it (`decision_delay_s`) they answered.

    Uses only the visitor's fixed uniforms, so a consent knob never changes the traffic."""
    pop = datasets.load("population")
    assume = datasets.calibration()["assumptions"]
    v = visitors.select("visitor_id", "region", "privacy_attitude", "persona", "gpc", "n_events", "has_account").join(
        draws, on="visitor_id", how="left", maintain_order="left"
    )
    n = v.height
    defaults = cfg.defaults.model_dump()
    default_granted = v["region"].replace_strict({r: d == "granted" for r, d in defaults.items()}, return_dtype=pl.Boolean).to_numpy()

    att, per = pop["attitude"], pop["persona"]
    att_shift = dict(zip(att["names"], att["consent_logit"], strict=True))
    per_shift = dict(zip(per["names"], per["consent_logit"], strict=True))
    shift = v["privacy_attitude"].replace_strict(att_shift, return_dtype=pl.Float64).to_numpy() + v[
        "persona"
    ].replace_strict(per_shift, return_dtype=pl.Float64).to_numpy() + per["account_consent_logit"] * v["has_account"].to_numpy()

    gpc = v["gpc"].to_numpy() & cfg.honour_gpc
    u_decide, u_accept, u_custom, u_page, u_delay = (v[c].to_numpy() for c in ("u_decide", "u_accept", "u_custom", "u_page", "u_delay"))
    # Page on which the banner is answered: the first with probability p, else geometric.
    p_first = assume["decide_on_first_page"]
    page = np.floor(np.log(np.clip(u_page, 1e-12, 1.0)) / math.log(1 - p_first)).astype(np.int64)
    reached = page < v["n_events"].to_numpy()

    # Choices as indices into CHOICES (strings only at the end: numpy string arrays are slow).
    accept_all, reject_all, custom_i, gpc_i, ignored, no_banner = range(len(CHOICES))
    choice = np.full(n, ignored, dtype=np.int8)
    analytics = default_granted.copy()
    ads = default_granted.copy()
    decision_seq = np.full(n, -1, dtype=np.int64)
    if cfg.banner == "no_banner":
        choice[:] = no_banner
    else:
        acct = np.asarray(per["account_share"])
        # Customers with an account answer the banner more often (they come back, they log in);
        # re-centred so the population still decides at the published share.
        acct_share = float(np.sum(np.asarray(per["shares"]) * acct))
        acct_decide = per["account_decide_logit"]
        c_dec = recentre(cfg.decision_share, np.array([0.0, acct_decide]), np.array([1 - acct_share, acct_share]))
        p_decide = sigmoid(c_dec + acct_decide * v["has_account"].to_numpy())
        decides = (u_decide < p_decide) & reached
        # Acceptance is re-centred over the deciders (attitude x persona x account, each weighted
        # by how often it decides), so the published rate holds among those who answer.
        per_shares = np.asarray(per["shares"])
        per_acct_share = np.concatenate([per_shares * (1 - acct) * sigmoid(c_dec), per_shares * acct * sigmoid(c_dec + acct_decide)])
        per_acct_shift = np.concatenate([np.asarray(per["consent_logit"]), np.asarray(per["consent_logit"]) + per["account_consent_logit"]])
        shares = np.outer(att["shares"], per_acct_share / per_acct_share.sum()).ravel()
        shifts = np.add.outer(np.asarray(att["consent_logit"]), per_acct_shift).ravel()
        c = recentre(accept_rate(cfg.banner), shifts, shares)
        accept = u_accept < sigmoid(c + shift)
        custom = ~accept & (u_custom < assume["custom_share_of_non_accept"])
        choice = np.where(decides, np.where(accept, accept_all, np.where(custom, custom_i, reject_all)), choice)
        analytics = np.where(decides, accept | custom, analytics)
        ads = np.where(decides, accept, ads)
        decision_seq = np.where(decides, page, decision_seq)
    # A GPC signal is an automatic refusal on the first hit, whatever the banner.
    choice = np.where(gpc, gpc_i, choice)
    analytics = np.where(gpc, False, analytics)
    ads = np.where(gpc, False, ads)
    decision_seq = np.where(gpc, 0, decision_seq)
    delay = np.where(gpc, 0.0, np.exp(math.log(4.0) + 0.8 * norm_ppf(u_delay)))
    return pl.DataFrame(
        {
            "visitor_id": v["visitor_id"],
            "choice": pl.Series(CHOICES, dtype=pl.String).gather(choice),
            "default_granted": default_granted,
            "analytics_storage": analytics.astype(bool),
            "ad_storage": ads.astype(bool),
            "ad_user_data": ads.astype(bool),
            "ad_personalization": ads.astype(bool),
            "decision_seq": pl.Series(decision_seq).replace(-1, None),
            "decision_delay_s": np.round(delay, 3),
        }
    )


def consent_cookie(visitor_ids: pl.Series, seed: int) -> pl.Series:
    """The consent manager's own cookie value for each visitor (strictly necessary, no consent needed)."""
    return pl.select(pl.concat_str([pl.lit("cmp-"), pl.lit(visitor_ids).hash(seed + 1).cast(pl.String)])).to_series()


def consent_text(banner_or_method: str) -> tuple[str, str]:
    """(version, text) of what the visitor was shown."""
    t = datasets.consent_texts()[banner_or_method]
    return t["version"], t["text"]

"""Column expressions shared by the vendor formats (hits in, polars expressions out)."""

from __future__ import annotations

import polars as pl

CURRENCY = "EUR"  # the simulated shop's revenue has no stated currency; vendors want one with a value
LIB = "drcl-simulator"


def path() -> pl.Expr:
    """The page's path (computed once with the masked address, `formats.page_addresses`)."""
    return pl.col("path")


def locale() -> pl.Expr:
    """The first language of the Accept-Language header ("it-IT,it;q=0.9" -> "it-IT")."""
    return pl.col("language").str.split(",").list.first().str.split(";").list.first()


TS_ISO = "%Y-%m-%dT%H:%M:%S%.3fZ"  # the vendors' ISO 8601 timestamps, to the millisecond


def iso(col: str = "ts") -> pl.Expr:
    return pl.col(col).dt.strftime(TS_ISO)


def full() -> pl.Expr:
    return pl.col("analytics_storage")


def when_full(expr: pl.Expr) -> pl.Expr:
    """The value with analytics consent, else null (left out of the JSON)."""
    return pl.when(full()).then(expr)

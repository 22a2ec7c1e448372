"""Knobs drawn as small tables: a mix (regions, devices, channels) as percentages that always sum to
100%, and a list (the query parameters the full stack keeps) as one row per item.

The Scenario keeps a mix as relative weights, one field per part (`traffic.region_mix.eea`, ...); the
sidebar keeps each part's share in the session under its dotted path, like every other knob. A person
edits a percentage; the edited parts keep what was typed and the others share the rest in their old
proportions (`rebalance`), so the table shows 100% again on the next draw. After every edit a table gets
a new widget key (`editor_key`): the browser drops its edits and shows the values as they are now.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import polars as pl
import streamlit as st

from ui import knob_words
from ui.words import pct, t

STEPS = 1000  # shares are kept in steps of 0.1 %
_PART, _SHARE, _ITEM = "part", "share", "item"


def _whole(shares: Mapping[str, float]) -> dict[str, float]:
    """Shares (any non-negative weights) as fractions in steps of 1/STEPS summing to exactly 1
    (largest remainder); all-zero weights give equal shares."""
    total = sum(shares.values())
    if total <= 0:
        shares, total = dict.fromkeys(shares, 1.0), float(len(shares))
    exact = {k: v / total * STEPS for k, v in shares.items()}
    units = {k: math.floor(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: units[k] - exact[k])[: STEPS - sum(units.values())]:
        units[k] += 1
    return {k: u / STEPS for k, u in units.items()}


def normalised(weights: Mapping[str, float]) -> dict[str, float]:
    """A mix's weights as shares that sum to 1 (unchanged when they already do)."""
    if math.isclose(sum(weights.values()), 1.0, abs_tol=1e-9):
        return dict(weights)
    return _whole(weights)


def rebalance(shares: Mapping[str, float], edited: Mapping[str, Any]) -> dict[str, float]:
    """New shares (summing to 1) after a person typed percentages for some parts: those keep what was
    typed (clipped to 0..100 %), the others share the rest in their old proportions. Typed parts adding
    up to more than 100 % are scaled down to 100 %; an edit that leaves every share at 0 changes nothing."""
    typed = {k: min(max(float(v), 0.0), 100.0) / 100 for k, v in edited.items()
             if k in shares and v is not None and math.isfinite(float(v))}
    fixed = sum(typed.values())
    rest = [k for k in shares if k not in typed]
    if fixed >= 1 or not rest:
        return _whole(typed | dict.fromkeys(rest, 0.0)) if fixed > 0 else _whole(shares)
    old_rest = sum(shares[k] for k in rest)
    out = dict(typed)
    for k in rest:
        out[k] = (1 - fixed) * (shares[k] / old_rest if old_rest > 0 else 1 / len(rest))
    return _whole(out)


def _version_key(path: str) -> str:
    return f"table.{path}.version"


def editor_key(path: str) -> str:
    """The data editor's current widget key (a new one after every edit, so the browser drops its edits)."""
    return f"table.{path}.{st.session_state.get(_version_key(path), 0)}"


def _next_version(path: str) -> None:
    st.session_state[_version_key(path)] = st.session_state.get(_version_key(path), 0) + 1


def take_edits(mix: str, parts: list[str]) -> None:
    """Before drawing: apply the last edit of the mix's table to its parts' shares in the session."""
    state = st.session_state.get(editor_key(mix))
    rows = (state or {}).get("edited_rows") or {}
    if not rows:
        return
    current = {p: float(st.session_state[f"{mix}.{p}"]) for p in parts}
    edited = {parts[int(i)]: row[_SHARE] for i, row in rows.items() if _SHARE in row and 0 <= int(i) < len(parts)}
    for part, share in rebalance(current, edited).items():
        st.session_state[f"{mix}.{part}"] = share
    _next_version(mix)


def mix_editor(container: Any, mix: str, parts: list[str]) -> None:
    """The mix's table: one row per part, its share in percent; the sum under it."""
    take_edits(mix, parts)
    shares = {p: float(st.session_state[f"{mix}.{p}"]) for p in parts}
    frame = pl.DataFrame({_PART: [knob_words.part(mix, p) for p in parts],
                          _SHARE: [round(shares[p] * 100, 1) for p in parts]})
    container.markdown(knob_words.label(mix), help=knob_words.help_text(mix))
    container.data_editor(
        frame, key=editor_key(mix), hide_index=True, num_rows="fixed", width="stretch",
        column_config={
            _PART: st.column_config.TextColumn(t("sidebar.mix_part"), disabled=True, width=136),
            _SHARE: st.column_config.NumberColumn(t("sidebar.mix_share"), min_value=0.0, max_value=100.0, step=0.1,
                                                  format="localized", required=True, width=62),
        })
    container.caption(t("sidebar.mix_sum", total=pct(sum(shares.values()))))


def edited_list(items: list[str], state: Mapping[str, Any] | None) -> list[str]:
    """A list after a data editor's edits (changed, deleted and added rows), blanks and repeats dropped."""
    state = state or {}
    rows = {int(i): row for i, row in (state.get("edited_rows") or {}).items()}
    deleted = {int(i) for i in state.get("deleted_rows") or []}
    kept = [str(rows.get(i, {}).get(_ITEM, item) or "") for i, item in enumerate(items) if i not in deleted]
    added = [str(row.get(_ITEM) or "") for row in state.get("added_rows") or []]
    return list(dict.fromkeys(v.strip() for v in kept + added if v and v.strip()))


def list_editor(container: Any, path: str) -> None:
    """A list knob (kept in the session as "a, b, c") as a table with one row per item."""
    items = [v.strip() for v in str(st.session_state[path]).split(",") if v.strip()]
    state = st.session_state.get(editor_key(path))
    if state and (state.get("edited_rows") or state.get("added_rows") or state.get("deleted_rows")):
        items = edited_list(items, state)
        st.session_state[path] = ", ".join(items)
        _next_version(path)
    container.markdown(knob_words.label(path), help=knob_words.help_text(path))
    container.data_editor(
        pl.DataFrame({_ITEM: items}, schema={_ITEM: pl.String}), key=editor_key(path), hide_index=True,
        num_rows="dynamic", width="stretch",
        column_config={_ITEM: st.column_config.TextColumn(t("sidebar.list_item"), max_chars=60)})

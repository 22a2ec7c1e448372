"""The collector's write path: validated batches -> hits -> the same rails and masking as the
in-process run -> DuckDB, with group commit and idempotency on event and consent keys.

`Ingestor` is synchronous and lives in the writer process (collector.writer), which owns
the DuckDB file. A group of batches is decoded once, run through the rails once, and committed
with its ledger rows in one transaction; only then are its requests answered, so a 202 always
means "durably in the database" (DuckDB syncs its WAL on commit).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from engine import consent, datasets, geoip, keys, masking, pipeline, quality, rights, schemas, store, wire
from engine.rails import CONSENT_ID_LABEL
from engine.scenario import Scenario

log = logging.getLogger("drcl.collector")

# One row per stored event or consent record. Uniqueness is kept by the single writer and the
# KeyFilter below (a primary-key index made every insert slower as the table grew).
LEDGER_DDL = (
    "CREATE TABLE IF NOT EXISTS collector_ledger ("
    "key VARCHAR NOT NULL, kind VARCHAR NOT NULL, batch_id VARCHAR, received_at TIMESTAMPTZ NOT NULL)"
)


class KeyFilter:
    """64-bit hashes of every stored key, in a few sorted arrays (merged size-tiered, like an LSM
    tree): 8 bytes a key. A key whose hash is absent is certainly new; only keys whose hash is
    present (duplicates, or a one-in-2^64 collision) are looked up in the database."""

    SEED = 0x1ED6E5

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []

    @classmethod
    def hashes(cls, keys: pl.Series) -> np.ndarray:
        return keys.hash(cls.SEED).to_numpy()

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts)

    def maybe_seen(self, h: np.ndarray) -> np.ndarray:
        out = np.zeros(len(h), dtype=bool)
        for part in self.parts:
            idx = np.minimum(np.searchsorted(part, h), len(part) - 1)
            out |= part[idx] == h
        return out

    def add(self, h: np.ndarray) -> None:
        if len(h) == 0:
            return
        self.parts.append(np.sort(h))
        while len(self.parts) > 1 and len(self.parts[-1]) * 2 >= len(self.parts[-2]):
            b, a = self.parts.pop(), self.parts.pop()
            self.parts.append(np.sort(np.concatenate([a, b]), kind="stable"))


class IngestError(RuntimeError):
    """A batch that validated but could not be written (the client may retry)."""


@dataclass
class Item:
    kind: str  # "events" or "consent"
    batch_id: str | None
    payload: bytes  # wire.events_json / wire.consents_json
    n: int  # events or records in it
    client_ip: str


@dataclass(frozen=True)
class Result:
    received: int
    stored: int

    @property
    def duplicates(self) -> int:
        return self.received - self.stored


def open_store(path: Path) -> duckdb.DuckDBPyConnection:
    con = store.connect(path)
    cur = con.cursor()
    cur.execute(LEDGER_DDL)
    cur.close()
    return con


class Ingestor:
    def __init__(self, con: duckdb.DuckDBPyConnection, scenario: Scenario) -> None:
        self.con = con
        self.scenario = scenario
        self.run_id = scenario.run_id
        self.site = datasets.site(scenario.site.kind)["domain"]
        self.group_events = 0  # events and records over all groups (mean group = this / groups)
        self.consent_key = keys.derive(CONSENT_ID_LABEL)
        self.groups = 0
        self.stored = {"events": 0, "consent": 0}
        # Since this process started (a restart does not know how many duplicates came before).
        self.received = {"events": 0, "consent": 0}
        self.stored_since_start = {"events": 0, "consent": 0}
        self.filter = KeyFilter()
        cur = con.cursor()
        try:  # every key already stored (a restart after a crash must still refuse duplicates)
            ledger = cur.sql("SELECT key, kind FROM collector_ledger").pl()
            self.filter.add(KeyFilter.hashes(ledger["key"]))
            for kind, n in ledger.group_by("kind").len().iter_rows():
                self.stored[kind] = n
        finally:
            cur.close()

    def commit_group(self, group: list[Item]) -> Sequence[Result | IngestError]:
        """Commit a group in one transaction; if that fails, item by item, so one bad batch
        cannot take the others down with it."""
        try:
            results, new_hashes = self._commit(group)
        except Exception as err:
            if len(group) == 1:
                log.exception("batch %s could not be written", group[0].batch_id)
                return [IngestError(str(err))]
            return [r for item in group for r in self.commit_group([item])]
        # Committed: from here on nothing may send the group round again.
        for h in new_hashes:
            self.filter.add(h)
        self.groups += 1
        self.group_events += sum(it.n for it in group)
        for it, r in zip(group, results):
            self.stored[it.kind] += r.stored
            self.received[it.kind] += r.received
            self.stored_since_start[it.kind] += r.stored
        return results

    # --- one transaction per group --------------------------------------------------------------
    def _commit(self, group: list[Item]) -> tuple[list[Result], list[np.ndarray]]:
        now = dt.datetime.now(dt.UTC)
        stored = [0] * len(group)
        tables: dict[str, list[pl.DataFrame]] = {}
        ledger: list[pl.DataFrame] = []
        new_hashes: list[np.ndarray] = []
        cur = self.con.cursor()
        try:
            for kind in ("events", "consent"):
                idx = [i for i, it in enumerate(group) if it.kind == kind]
                if not idx:
                    continue
                parts = [(group[i].payload, group[i].client_ip) for i in idx]
                sizes = [group[i].n for i in idx]
                frame = (self._with_defaults(wire.decode_events(parts, sizes, self.site)) if kind == "events"
                         else self._consent_keys(wire.decode_consents(parts, sizes)))
                frame = frame.with_columns(_item=pl.Series(np.repeat(np.array(idx, dtype=np.int32), sizes)))
                # First occurrence of a key in the group wins; keys already in the ledger are duplicates.
                frame = frame.unique("key", keep="first", maintain_order=True)
                hashes = KeyFilter.hashes(frame["key"])
                maybe = self.filter.maybe_seen(hashes)
                new = frame
                if maybe.any():
                    _cand = frame.filter(pl.Series(maybe)).select("key")
                    seen = cur.sql("SELECT l.key FROM collector_ledger l JOIN _cand c ON l.key = c.key").pl()
                    keep = ~frame["key"].is_in(seen["key"].implode()).to_numpy()
                    new, hashes = frame.filter(pl.Series(keep)), hashes[keep]
                new_hashes.append(hashes)
                for i, n in new.group_by("_item").len().iter_rows():
                    stored[i] = n
                if new.height:
                    ledger.append(new.select("key", "_item", kind=pl.lit(kind)))
                    if kind == "events":  # the collector's own clock, not the client's
                        new = new.with_columns(received_at=pl.lit(now, pl.Datetime("us", "UTC")))
                    self._rails(kind, new.drop("_item"), tables)
            batch_ids = pl.DataFrame({"_item": list(range(len(group))), "batch_id": [it.batch_id for it in group]},
                                     schema={"_item": pl.Int32, "batch_id": pl.String})
            _ledger = (
                pl.concat(ledger).join(batch_ids, on="_item", how="left", maintain_order="left")
                .select("key", "kind", "batch_id", received_at=pl.lit(now))
                if ledger else None
            )
        finally:
            cur.close()
        with store.transaction(self.con) as tx:  # the ledger rows and the rail rows land together, or neither
            if _ledger is not None:
                tx.execute("INSERT INTO collector_ledger SELECT * FROM _ledger")
            store.insert_frames(tx, self.run_id, {t: pl.concat(v) for t, v in tables.items()})
        return [Result(it.n, n) for it, n in zip(group, stored)], new_hashes

    def _with_defaults(self, hits: pl.DataFrame) -> pl.DataFrame:
        """Signals the client did not send take the site's regional default (by the IP's country),
        as for a visitor who has not answered the banner; with `honour_gpc`, a browser sending Global
        Privacy Control is refused instead (as the simulator's GPC visitors are from their first hit)."""
        missing = hits.select(pl.any_horizontal(pl.col(s).is_null() for s in consent.SIGNALS).any()).item()
        if not missing:
            return hits
        default = consent.regional_default(geoip.country_of(hits["ip"]), self.scenario.consent.defaults)
        if self.scenario.consent.honour_gpc:
            default = default & ~hits["gpc"].fill_null(False)
        return hits.with_columns(pl.col(s).fill_null(default) for s in consent.SIGNALS)

    def _consent_keys(self, frame: pl.DataFrame) -> pl.DataFrame:
        hashed = masking.keyed_hash(frame["consent_id"], self.consent_key)
        return frame.with_columns(
            key=pl.concat_str([pl.lit("c:"), pl.lit(hashed), pl.lit("|"), pl.col("consent_ts").dt.strftime(wire.TS_FORMAT)])
        )

    def _rails(self, kind: str, hits: pl.DataFrame, tables: dict[str, list[pl.DataFrame]]) -> None:
        def add(table: str, frame: pl.DataFrame) -> None:
            tables.setdefault(table, []).append(frame)

        if kind == "events":
            base, full = pipeline.event_rails(hits, self.scenario)
            add("baseline_events", base)
            add("fullstack_events", full)
        else:
            add("consent_log", pipeline.consent_rows(hits, self.scenario))

    # --- reads ----------------------------------------------------------------------------------
    def consent_history(self, raw_anonymous_id: str) -> pl.DataFrame:
        """Consent log rows of one visitor, looked up by the raw id its browser holds."""
        hashed = masking.keyed_hash(pl.Series([raw_anonymous_id]), self.consent_key)[0]
        cur = self.con.cursor()
        try:
            return cur.sql(
                "SELECT anonymous_id, consent_type, granted, method, consent_version, ts FROM consent_log "
                "WHERE run_id = ? AND anonymous_id = ? ORDER BY ts, consent_type",
                params=[self.run_id, hashed],
            ).pl()
        finally:
            cur.close()

    # --- data subjects ---------------------------------------------------------------------------
    # Every run in the file: a person's rows may come from earlier collector runs with other settings.
    _FULLSTACK_LINKED = "list_contains(?, device_id) OR list_contains(?, user_id)"

    def _links(self, cur: duckdb.DuckDBPyConnection, raw_anonymous_id: str) -> dict:
        """The keyed hashes a raw anonymous id links to in the store (see rights.HOW_LINKED_ANONYMOUS)."""
        dates = cur.sql("SELECT DISTINCT date FROM fullstack_events WHERE date IS NOT NULL ORDER BY date").pl()["date"]
        devices, consent_id = rights.anonymous_links(raw_anonymous_id, dates)
        held = cur.sql("SELECT DISTINCT device_id FROM fullstack_events WHERE list_contains(?, device_id) ORDER BY device_id",
                       params=[list(devices)]).pl()["device_id"].to_list()
        users = cur.sql(
            "SELECT DISTINCT user_id FROM fullstack_events WHERE list_contains(?, device_id) AND user_id IS NOT NULL "
            "ORDER BY user_id", params=[held],
        ).pl()["user_id"].to_list()
        return {"device_ids": held, "user_ids": users, "consent_id": consent_id}

    def _linked_rows(self, cur: duckdb.DuckDBPyConnection, links: dict) -> dict[str, pl.DataFrame]:
        return {
            "fullstack_events": cur.sql(f"SELECT * FROM fullstack_events WHERE {self._FULLSTACK_LINKED} ORDER BY ts, event_id",
                                        params=[links["device_ids"], links["user_ids"]]).pl(),
            "consent_log": cur.sql("SELECT * FROM consent_log WHERE anonymous_id = ? ORDER BY ts, consent_type",
                                   params=[links["consent_id"]]).pl(),
        }

    def subject_export(self, raw_anonymous_id: str) -> dict | None:
        """Every stored row linked to a raw anonymous id, as JSON-ready rows per table (None: nothing linked)."""
        cur = self.con.cursor()
        try:
            links = self._links(cur, raw_anonymous_id)
            rows = self._linked_rows(cur, links)
        finally:
            cur.close()
        if not any(f.height for f in rows.values()):
            return None
        return {
            "identifiers": links,
            "how_linked": rights.HOW_LINKED_ANONYMOUS,
            "tables": {t: schemas.json_rows(f) for t, f in rows.items()} | {"baseline_events": []},
        }

    def subject_erase(self, raw_anonymous_id: str) -> dict | None:
        """Erase a raw anonymous id's linked rows from the rail tables in one transaction; the consent
        log's rows stay, as proof of consent, until their own retention ends. None: nothing linked."""
        with store.transaction(self.con) as tx:
            links = self._links(tx, raw_anonymous_id)
            rows = self._linked_rows(tx, links)
            if not any(f.height for f in rows.values()):
                return None
            erased = rows["fullstack_events"].height
            if erased:
                tx.execute(f"DELETE FROM fullstack_events WHERE {self._FULLSTACK_LINKED}", [links["device_ids"], links["user_ids"]])
        consent_rows = rows["consent_log"]
        return {
            "identifiers": links,
            "erased": {"fullstack_events": erased, "baseline_events": 0, "consent_log": 0},
            "kept": {"consent_log": consent_rows.height},
            "notes": {
                "fullstack_events": "erased" if erased else "nothing to erase: no full-stack row is linked to this id "
                                                            "(erased before, or never recorded with analytics consent)",
                "baseline_events": rights.HOW_LINKED["baseline_events"],
                "consent_log": (rights.consent_conflict(consent_rows) or "no consent recorded for this id"),
            },
        }

    def stats(self) -> dict:
        try:  # a closed or broken connection fails already at cursor()
            cur = self.con.cursor()
            try:
                ok = cur.execute("SELECT count(*) FROM collector_ledger WHERE false").fetchone() is not None
            finally:
                cur.close()
        except duckdb.Error:
            ok = False
        return {"database": ok, "stored": dict(self.stored), "groups": self.groups, "group_events": self.group_events}

    def quality(self) -> dict:
        """Data quality of what this collector received (GET /api/v1/quality): engine.quality over the
        stored rail rows, plus the duplicates refused at the door since the process started."""
        report = quality.store_report(self.con, self.run_id)
        rails: dict[str, dict] = {}
        for row in report.summary.iter_rows(named=True):
            rail = row.pop("rail")
            missing = report.missing.filter(pl.col("rail") == rail)
            timing = report.timing.filter(pl.col("rail") == rail).sort("order")
            rails[rail] = {
                **row,
                "missing_fields": dict(zip(missing["field"], missing["missing_rate"], strict=True)),
                **{f"{key}_buckets": [{"bucket": b, "events": n, "share": sh} for b, n, sh in
                                      timing.filter(pl.col("measure") == measure).select("bucket", "events", "share").iter_rows()]
                   for key, measure in (("delay", "delay"), ("clock_skew", "clock skew"))},
            }
        received = {k: int(v) for k, v in self.received.items()}
        dups = {k: received[k] - int(self.stored_since_start[k]) for k in received}
        return {
            "received_since_start": received,
            "duplicates_since_start": dups,
            "duplicate_rate_since_start": {k: (dups[k] / received[k]) if received[k] else None for k in received},
            "late_after_s": quality.late_after_s(),
            "rails": rails,
        }

    def write_run_row(self) -> None:
        """The collector's `runs` row (source "collector"), with the row counts stored so far."""
        cur = self.con.cursor()
        try:
            counts = {
                t: cur.execute(f'SELECT count(*) FROM "{t}" WHERE run_id = ?', [self.run_id]).fetchall()[0][0]
                for t in ("consent_log", "baseline_events", "fullstack_events")
            }
        finally:
            cur.close()
        with store.transaction(self.con) as tx:
            tx.execute("DELETE FROM runs WHERE run_id = ?", [self.run_id])
            store.insert_frames(tx, self.run_id, {"runs": store.run_row(self.scenario, counts, "collector")})

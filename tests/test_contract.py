"""The collector contract as written, against a real collector process: its example request
(kept byte for byte) gets 202 and the documented answer, consent is optional and takes Consent
Mode's words, health says "healthy", and API keys are checked in constant time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import jsonschema
import polars as pl
import pytest
from collector_helpers import ENV, ROOT, Collector, batch, event

from collector.auth import ApiKeyError, ApiKeys, read_keys
from collector.ingest import Ingestor, open_store
from engine import consent, geoip, schemas, store
from engine.scenario import RegionDefaults, resolve

FIXTURES = Path(__file__).parent / "fixtures" / "contract"


@pytest.fixture(scope="module")
def collector(tmp_path_factory):
    c = Collector(tmp_path_factory.mktemp("contract") / "c.duckdb")
    yield c
    c.stop()


def ip_in(country: str) -> str:
    """An address from the simulated GeoIP table's prefixes for `country`."""
    t = geoip.table()
    p = int(t.ipv4_prefix16[list(t.codes).index(country), 0])
    return f"{p >> 8}.{p & 255}.7.9"


def conforms(name: str, answer: dict) -> None:
    """The answer is what the published schema `name` says (schemas/)."""
    jsonschema.Draft202012Validator(json.loads(schemas.path_of(name).read_text())).validate(answer)


def post(c: Collector, content: bytes, **headers: str) -> httpx.Response:
    return httpx.post(c.events_url, content=content, headers={"content-type": "application/json", **headers}, timeout=30)


def rows(c: Collector, sql: str, params: list) -> list[dict]:
    """Rows of the collector's store, read after it has stopped (it holds the file while running)."""
    con = store.connect(c.db, read_only=True)
    try:
        return store.query(con, sql, params).to_dicts()
    finally:
        con.close()


def test_the_contract_example_gets_202_and_the_documented_answer(collector):
    raw = (FIXTURES / "events_request.json").read_bytes()
    request = json.loads(raw)
    assert "consent" not in request["events"][0]["context"]  # the example sends no consent signal
    r = post(collector, raw)
    assert r.status_code == 202, r.text
    documented = json.loads((FIXTURES / "events_response.json").read_text())
    got = r.json()
    conforms("collector/events-accepted", got)
    assert set(got) == set(documented)
    assert {k: got[k] for k in documented if k != "timestamp"} == {k: v for k, v in documented.items() if k != "timestamp"}
    again = post(collector, raw)  # the same batch retried: accepted, nothing stored twice
    assert again.status_code == 202 and again.json()["events_stored"] == 0 and again.json()["duplicates"] == 1


def test_health_answers_as_documented(collector):
    r = httpx.get(collector.base + "/health", timeout=10)
    documented = json.loads((FIXTURES / "health_response.json").read_text())
    assert r.status_code == 200
    got = r.json()
    conforms("collector/health", got)
    assert set(documented) <= set(got)
    assert got["status"] == documented["status"] == "healthy"
    assert got["checks"] == documented["checks"] == {"database": "connected"}


def test_an_unreachable_database_is_reported_unhealthy(tmp_path):
    con = open_store(tmp_path / "c.duckdb")
    ing = Ingestor(con, resolve(None, None, []))
    assert ing.stats()["database"] is True
    con.close()
    assert ing.stats()["database"] is False  # the health route answers 503 "unhealthy" / "disconnected" on this


WORDS = {"analytics_storage": "granted", "ad_storage": "denied", "ad_user_data": "denied", "ad_personalization": "granted"}
BOOLS = {k: v == "granted" for k, v in WORDS.items()}


def test_granted_and_denied_mean_true_and_false(collector):
    """Events 601 (words) and 602 (booleans) are read back from the store in the last test."""
    words, bools = WORDS, BOOLS
    r = post(collector, json.dumps(batch([event("w:601", **{"context.consent": words}),
                                      event("w:602", **{"context.consent": bools})])).encode())
    assert r.status_code == 202, r.text
    bad = post(collector, json.dumps(batch([event("w:603", **{"context.consent.ad_storage": "GRANTED"})], "b-2")).encode())
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "events[0].context.consent.ad_storage"
    # One field, one error, and its message names every accepted form (the union's members each
    # used to count as an error: "2 invalid field(s)" over a list of one, "a valid boolean" only).
    assert bad.json()["message"].startswith("1 invalid field(s)") and len(bad.json()["errors"]) == 1
    assert bad.json()["errors"][0]["message"] == "Input should be a valid boolean, or 'granted' or 'denied'"


def test_consent_is_optional_and_takes_the_regional_default(collector):  # last: stops the collector
    """No consent: the region's default applies (eu_shop: EEA denied, US granted), as for an unanswered banner."""
    eea, us = event("ctr:501", **{"context.ip": ip_in("DE")}), event("ctr:502", **{"context.ip": ip_in("US"), "anonymous_id": "GA1.1.502"})
    partial = event("ctr:503", **{"context.ip": ip_in("DE"), "context.consent": {"analytics_storage": "granted"}})
    # Global Privacy Control is a signal: honoured (the preset's default), it refuses even where the default grants.
    us_gpc = event("ctr:504", **{"context.ip": ip_in("US"), "anonymous_id": "GA1.1.504", "context.gpc": True})
    for e in (eea, us, us_gpc):
        del e["context"]["consent"]
    r = post(collector, json.dumps(batch([eea, us, partial, us_gpc], "regional")).encode())
    assert r.status_code == 202 and r.json()["events_stored"] == 4, r.text
    defaults = RegionDefaults()
    assert (defaults.eea, defaults.us) == ("denied", "granted")  # the preset's defaults this test relies on
    assert consent.regional_default(geoip.country_of(pl.Series([ip_in("DE"), ip_in("US"), "127.0.0.1"])), defaults).to_list() == [False, True, True]
    collector.stop()
    got = {r["event_id"]: r for r in rows(collector, "SELECT * FROM fullstack_events WHERE event_id BETWEEN ? AND ?", [501, 504])}
    assert got[501]["analytics_storage"] is False and got[501]["is_ping"] and got[501]["device_id"] is None
    assert got[502]["analytics_storage"] is True and got[502]["ad_storage"] is True and got[502]["device_id"]
    # A partial consent object: the signal sent counts, the others take the default.
    assert got[503]["analytics_storage"] is True and got[503]["ad_storage"] is False and got[503]["device_id"]
    assert resolve(None, None, [], {}).consent.honour_gpc
    assert not any(got[504][s] for s in consent.SIGNALS) and got[504]["is_ping"] and got[504]["device_id"] is None
    signals = rows(collector, f"SELECT {', '.join(consent.SIGNALS)} FROM fullstack_events WHERE event_id IN (601, 602) ORDER BY event_id", [])
    assert signals == [BOOLS, BOOLS]  # "granted"/"denied" stored as the booleans they mean


# --- API keys ------------------------------------------------------------------------------------

KEY = "k3y-for-the-tests-0123456789abcdef"


def test_api_keys_are_required_except_for_health(tmp_path):
    keyfile = tmp_path / "keys.txt"
    keyfile.write_text(f"# collector keys\n\n{KEY}\nanother-key-0123456789\n")
    with Collector(tmp_path / "c.duckdb", "--api-keys", str(keyfile), "--rate-limit", "10") as c:
        raw = (FIXTURES / "events_request.json").read_bytes()
        for headers, why in (({}, "missing"), ({"X-API-Key": KEY[:-1]}, "not valid"), ({"X-API-Key": KEY + "x"}, "not valid")):
            r = post(c, raw, **headers)
            assert r.status_code == 401 and r.json()["code"] == "UNAUTHORIZED" and why in r.json()["message"]
            conforms("collector/error", r.json())
            assert r.headers["content-type"] == "application/json"
        assert httpx.get(c.base + "/subjects/anon_xyz789", timeout=10).status_code == 401
        assert httpx.get(c.base + "/consent/anon_xyz789", timeout=10).status_code == 401
        # Data quality describes what was received (volumes, duplicates, timings): not public like health.
        assert httpx.get(c.base + "/quality", timeout=10).status_code == 401
        assert httpx.get(c.base + "/quality", headers={"X-API-Key": KEY}, timeout=30).status_code == 200
        assert httpx.get(c.base + "/health", timeout=10).json()["stored"]["events"] == 0  # open, and nothing was stored
        assert post(c, raw, **{"X-API-Key": "another-key-0123456789"}).status_code == 202
        # Wrong keys use up the client's rate limit (10 a minute) like any request: guessing is throttled.
        codes = [post(c, raw, **{"X-API-Key": f"guess-{i:016d}"}).status_code for i in range(10)]
        assert 401 in codes and codes[-1] == 429


def test_api_keys_are_held_only_as_keyed_digests():
    keys = ApiKeys([KEY, "second-key-0123456789"])
    assert keys.check(KEY) and keys.check("second-key-0123456789")
    assert not keys.check(None) and not keys.check("") and not keys.check(KEY.upper())
    held = repr(vars(keys)).encode()
    assert KEY.encode() not in held and KEY.encode().hex().encode() not in held
    assert not ApiKeys([]).check(KEY)
    assert ApiKeys([KEY])._digests != keys._digests[:1]  # a fresh secret per process: digests are not portable


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "holds no key"), ("# only a comment\n", "holds no key"), ("short\n", "at least 16"),
     ("has a space in it 0123456789\n", "without spaces")],
)
def test_unusable_key_files_are_refused(tmp_path, text, problem):
    path = tmp_path / "keys.txt"
    path.write_text(text)
    with pytest.raises(ApiKeyError, match=problem):
        read_keys(path)


def test_the_collector_refuses_to_start_with_a_bad_key_file(tmp_path):
    out = subprocess.run([sys.executable, "-m", "collector", "--db", str(tmp_path / "c.duckdb"), "--port", "0",
                          "--api-keys", str(tmp_path / "missing.txt")], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--api-keys" in out.stderr and "missing.txt" in out.stderr

"""Published JSON Schemas (draft 2020-12) of the collector's bodies, a hit and every stored row,
generated from the pydantic models (engine.wire) and the schema registry (engine.schema).

    python -m engine.schemas export            write schemas/ from the code
    python -m engine.schemas export --check    exit 1 if schemas/ is not what the code generates

Each schema has a major version, `VERSIONS` below, and lives in `schemas/<name>.v<major>.json`;
the files of earlier majors stay for the clients that still speak them. A change is either:

- compatible: the file of the current major is rewritten (an optional field added, a type or a
  bound widened, a field no longer required, descriptions);
- breaking (`breaking_changes`): a field removed, a type narrowed (a type, enum value or null no
  longer accepted, a bound or pattern tightened, a type replaced), or a field newly required.
  `export` refuses to rewrite the current major with it: bump the schema's major in `VERSIONS`
  and export again, which writes the next file beside the old one.

Stored rows and hits list their columns without requiring them (a reader may project the columns
it needs), so a column added to the registry is a compatible change: after a merge that adds
columns, `python -m engine.schemas export` is the one command to run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, create_model

from engine import schema, wire

DRAFT = "https://json-schema.org/draft/2020-12/schema"
ROOT = Path(__file__).resolve().parent.parent / "schemas"

# name -> major version. Bump a name's major for a breaking change (see the module docstring).
VERSIONS: dict[str, int] = {
    "collector/events-request": 1,
    "collector/consent-request": 1,
    "collector/erasure-request": 1,
    "collector/events-accepted": 1,
    "collector/consent-accepted": 1,
    "collector/health": 1,
    "collector/error": 1,
    "collector/subject-export": 1,
    "collector/subject-erasure": 1,
    "hit": 1,
    **{f"tables/{t}": 1 for t in schema.TABLE_NAMES},
}

_WIRE: dict[str, type[BaseModel]] = {
    "collector/events-request": wire.EventBatch,
    "collector/consent-request": wire.ConsentBatch,
    "collector/erasure-request": wire.ErasureRequest,
    "collector/events-accepted": wire.EventsAccepted,
    "collector/consent-accepted": wire.ConsentAccepted,
    "collector/health": wire.HealthAnswer,
    "collector/error": wire.ErrorAnswer,
    "collector/subject-export": wire.SubjectExport,
    "collector/subject-erasure": wire.SubjectErasure,
}

_PY_TYPES: dict[pl.DataType, Any] = {
    schema.S: str, schema.I64: int, schema.I32: int, schema.F64: float, schema.B: bool, schema.D: dt.date, schema.TS: dt.datetime,
}


def _columns_model(title: str, columns: dict[str, tuple[pl.DataType, str]], doc: str) -> type[BaseModel]:
    """A model of one row: every column nullable and not required (see the module docstring)."""
    fields: dict[str, Any] = {
        c: (_PY_TYPES[dtype] | None, Field(None, description=desc or None)) for c, (dtype, desc) in columns.items()
    }
    return create_model(title, __config__=ConfigDict(extra="allow"), __doc__=doc, **fields)


def _table_model(table: str) -> type[BaseModel]:
    cols = {
        c: (col.dtype, "; ".join(x for x in (f"PII level {col.level.name}", f"stored as: {col.action}", col.note) if x))
        for c, col in schema.TABLES[table].items()
    }
    return _columns_model(table, cols, f"One row of the stored table `{table}` (times in UTC, ISO 8601).")


def _hit_model() -> type[BaseModel]:
    cols = {c: (f.dtype, f"baseline: {f.baseline}; full stack: {f.fullstack}; consent log: {f.consent_log}")
            for c, f in schema.HITS.items()}
    return _columns_model("hit", cols, "One hit: what a browser or the site's server sends, before either rail (no visitor id).")


def model_of(name: str) -> type[BaseModel]:
    if name in _WIRE:
        return _WIRE[name]
    if name == "hit":
        return _hit_model()
    if name.startswith("tables/") and name.removeprefix("tables/") in schema.TABLES:
        return _table_model(name.removeprefix("tables/"))
    raise KeyError(f"no schema {name!r}")


def path_of(name: str, version: int | None = None, root: Path = ROOT) -> Path:
    return root / f"{name}.v{VERSIONS[name] if version is None else version}.json"


def generate(name: str) -> dict:
    """The JSON Schema of `name` at its current major, as the code defines it."""
    body = model_of(name).model_json_schema(mode="validation")
    return {"$schema": DRAFT, "$id": f"urn:drcl:schema:{name}:v{VERSIONS[name]}", **body}


def render(doc: dict) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def json_rows(frame: pl.DataFrame) -> list[dict]:
    """Rows as the published row schemas describe them: times as ISO 8601 text in UTC, dates as YYYY-MM-DD."""
    out = frame.with_columns(
        [pl.col(c).dt.strftime(wire.TS_FORMAT) for c, t in frame.schema.items() if isinstance(t, pl.Datetime)]
        + [pl.col(c).dt.strftime("%Y-%m-%d") for c, t in frame.schema.items() if isinstance(t, pl.Date)]
    )
    return out.to_dicts()


# --- compatibility ---------------------------------------------------------------------------------

_TIGHTER: dict[str, Callable[[Any, Any], bool]] = {  # bound -> is the new value tighter than the old
    "maxLength": lambda o, n: n < o, "maxItems": lambda o, n: n < o, "maximum": lambda o, n: n < o,
    "exclusiveMaximum": lambda o, n: n < o, "minLength": lambda o, n: n > o, "minItems": lambda o, n: n > o,
    "minimum": lambda o, n: n > o, "exclusiveMinimum": lambda o, n: n > o,
}


def _deref(node: Any, defs: dict) -> Any:
    """The node with every local `$ref` to `#/$defs/...` replaced by its definition."""
    if isinstance(node, dict):
        if "$ref" in node and node["$ref"].startswith("#/$defs/"):
            return _deref(defs[node["$ref"].removeprefix("#/$defs/")], defs)
        return {k: _deref(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_deref(v, defs) for v in node]
    return node


def _branches(node: dict) -> list[dict]:
    """The alternatives a node accepts (anyOf / oneOf flattened); the node itself if none."""
    for key in ("anyOf", "oneOf"):
        if key in node:
            return [b for sub in node[key] for b in _branches(sub)]
    return [node]


def _kinds(branch: dict) -> set:
    """What a branch accepts, coarsely: JSON types, or ("enum", value) pairs for enums and consts."""
    if "enum" in branch:
        return {("enum", json.dumps(v)) for v in branch["enum"]}
    if "const" in branch:
        return {("enum", json.dumps(branch["const"]))}
    t = branch.get("type")
    if t is None:
        return {"any"}
    return set(t) if isinstance(t, list) else {t}


def _covers(new: set, kind: Any) -> bool:
    if "any" in new or kind in new:
        return True
    if kind == "integer" and "number" in new:
        return True
    if isinstance(kind, tuple):  # an enum value is accepted by a branch of its JSON type
        value = json.loads(kind[1])
        t = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}.get(type(value), "object")
        return t in new or (t == "integer" and "number" in new)
    return False


def _compare(old: dict, new: dict, path: str, out: list[str]) -> None:
    old_b, new_b = _branches(old), _branches(new)
    new_kinds = set().union(*(_kinds(b) for b in new_b))
    for kind in sorted(set().union(*(_kinds(b) for b in old_b)), key=str):
        if not _covers(new_kinds, kind):
            what = f"the value {kind[1]}" if isinstance(kind, tuple) else f"type {kind}"
            out.append(f"{path}: {what} is no longer accepted (narrowed type)")
    for ob in old_b:
        for t in ("object", "array", "string", "number", "integer"):
            if t not in _kinds(ob):
                continue
            nb = next((b for b in new_b if t in _kinds(b) or (t == "integer" and "number" in _kinds(b))), None)
            if nb is not None:
                _compare_branch(ob, nb, path, out)


def _compare_branch(old: dict, new: dict, path: str, out: list[str]) -> None:
    for bound, tighter in _TIGHTER.items():
        if bound in new and (bound not in old or tighter(old[bound], new[bound])):
            out.append(f"{path}: {bound} {old.get(bound, 'none')} -> {new[bound]} (narrowed type)")
    if "pattern" in new and new.get("pattern") != old.get("pattern"):
        out.append(f"{path}: pattern changed (narrowed type)")
    if "format" in new and new.get("format") != old.get("format"):
        out.append(f"{path}: format {old.get('format', 'none')} -> {new['format']} (narrowed type)")
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name in old_props:
        if name not in new_props:
            out.append(f"{path}.{name}: removed field")
        else:
            _compare(old_props[name], new_props[name], f"{path}.{name}", out)
    for name in sorted(set(new.get("required", ())) - set(old.get("required", ()))):
        out.append(f"{path}.{name}: newly required field")
    if old.get("additionalProperties", True) is not False and new.get("additionalProperties", True) is False:
        out.append(f"{path}: other fields are no longer allowed (narrowed type)")
    if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
        _compare(old["items"], new["items"], f"{path}[]", out)
    if isinstance(old.get("additionalProperties"), dict) and isinstance(new.get("additionalProperties"), dict):
        _compare(old["additionalProperties"], new["additionalProperties"], f"{path}{{}}", out)


def breaking_changes(old: dict, new: dict) -> list[str]:
    """What in `new` breaks a client of `old`: removed fields, narrowed types, newly required fields."""
    out: list[str] = []
    _compare(_deref(old, old.get("$defs", {})), _deref(new, new.get("$defs", {})), "$", out)
    return out


# --- export -----------------------------------------------------------------------------------------


class SchemaError(RuntimeError):
    """schemas/ cannot be brought up to date without a decision (a major to bump)."""


def status(root: Path = ROOT) -> Iterator[tuple[str, str, list[str]]]:
    """Per schema: (name, state, breaking changes), state one of current, new, compatible, breaking;
    breaking changes are against the current major's file on disk."""
    for name in VERSIONS:
        doc, path = generate(name), path_of(name, root=root)
        if not path.exists():
            yield name, "new", []
            continue
        old = json.loads(path.read_text())
        if render(old) == render(doc):
            yield name, "current", []
        else:
            problems = breaking_changes(old, doc)
            yield name, "breaking" if problems else "compatible", problems


def previous_breaks(name: str, root: Path = ROOT) -> list[str] | None:
    """The breaking changes from the previous major's file to the current one's (None: no previous file)."""
    major = VERSIONS[name]
    prev, cur = path_of(name, major - 1, root), path_of(name, major, root)
    if major < 2 or not prev.exists() or not cur.exists():
        return None
    return breaking_changes(json.loads(prev.read_text()), json.loads(cur.read_text()))


def export(root: Path = ROOT) -> list[str]:
    """Write every schema whose file is missing or compatibly out of date; the names written.
    Raises SchemaError, writing nothing, if a change is breaking (its major must be bumped)."""
    states = list(status(root))
    breaking = [(n, p) for n, s, p in states if s == "breaking"]
    if breaking:
        lines = [f"{n} (v{VERSIONS[n]}): " + "; ".join(p) for n, p in breaking]
        raise SchemaError("breaking changes; bump these majors in engine/schemas.py VERSIONS, then export again:\n  "
                          + "\n  ".join(lines))
    written = []
    for name, state, _ in states:
        if state in ("new", "compatible"):
            path = path_of(name, root=root)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(render(generate(name)))
            tmp.replace(path)
            written.append(name)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m engine.schemas", description="Publish the JSON Schemas in schemas/.")
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export", help="write schemas/ from the code")
    e.add_argument("--check", action="store_true", help="write nothing; exit 1 if schemas/ is not what the code generates")
    e.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.check:
        checked = list(status(args.root))
        stale = [(n, s, pr) for n, s, pr in checked if s != "current"]
        for name, state, problems in stale:
            fix = "bump its major in VERSIONS, then export" if state == "breaking" else "run python -m engine.schemas export"
            print(f"{path_of(name, root=args.root)}: {state}: {fix}" + "".join(f"\n  {x}" for x in problems), file=sys.stderr)
        if not stale:
            print(f"{len(checked)} schema(s) under {args.root} are current")
        return 1 if stale else 0
    try:
        written = export(args.root)
    except SchemaError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"{len(written)} schema(s) written under {args.root}" + "".join(f"\n  {n}" for n in written))
    return 0


if __name__ == "__main__":
    from engine import schemas as _schemas  # the importable module, not this __main__ copy

    sys.exit(_schemas.main())

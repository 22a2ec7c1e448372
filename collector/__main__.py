"""`python -m collector --db PATH --port N`: run the collector on 127.0.0.1.

The site configuration (consent mode, banner text, rails and masking knobs) comes from a preset,
a scenario file and `--set` overrides, exactly as for `python -m simulators generate`; give both
the same ones and the collector writes the same rail tables as the in-process run.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from pathlib import Path
from typing import NoReturn

import uvicorn

from collector.app import create_app
from collector.writer import open_when_free
from engine.scenario import DEFAULT_PRESET, ScenarioError, resolve

EXIT_USAGE = 2


def _prog(default: str) -> str:
    """The console script's own name (drcl-...) when run as one, else `python -m ...`."""
    name = Path(sys.argv[0]).name
    return name if name.startswith("drcl-") else default


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=_prog("python -m collector"), description="Dual-Rail Consent Lab HTTP collector.")
    p.add_argument("--db", type=Path, required=True, help="DuckDB file to write (created if missing)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--preset", default=None, help=f"site configuration preset (default {DEFAULT_PRESET})")
    p.add_argument("--scenario", type=Path, help="scenario file (TOML or JSON) overriding the preset")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a scenario field, e.g. consent.mode=basic (repeatable)")
    p.add_argument("--rate-limit", type=int, default=1000, metavar="N",
                   help="requests a minute per client before 429 (default 1000; 0 turns it off)")
    p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.rate_limit < 0:
        print("error: --rate-limit must be 0 or more", file=sys.stderr)
        return EXIT_USAGE
    if not 0 <= args.port <= 65535:
        print("error: --port must be between 0 and 65535", file=sys.stderr)
        return EXIT_USAGE
    try:
        scenario = resolve(args.preset, args.scenario, args.sets)
    except ScenarioError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    db = args.db
    if not db.resolve().parent.is_dir():
        print(f"error: folder {db.resolve().parent} does not exist", file=sys.stderr)
        return EXIT_USAGE
    try:  # fail now, with a clear message, if the file is locked or not a DuckDB file
        open_when_free(db).close()
    except Exception as err:
        print(f"error: cannot open {db}: {err}", file=sys.stderr)
        return EXIT_USAGE
    try:
        sock = socket.create_server((args.host, args.port), reuse_port=False, backlog=2048)
    except OSError as err:
        print(f"error: cannot listen on {args.host}:{args.port}: {err.strerror or err}", file=sys.stderr)
        return EXIT_USAGE
    port = sock.getsockname()[1]
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(db, scenario, rate_limit=args.rate_limit)
    config = uvicorn.Config(app, log_level=args.log_level, access_log=False, loop="uvloop", http="httptools",
                            timeout_graceful_shutdown=30)
    server = uvicorn.Server(config)
    print(f"collector listening on http://{args.host}:{port}/api/v1/events (db {db}, run {scenario.run_id})", flush=True)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m collector --db PATH --port N`: run the collector on 127.0.0.1.

The site configuration (consent mode, banner text, rails and masking knobs) comes from a preset,
a scenario file and `--set` overrides, exactly as for `python -m simulators generate`; give both
the same ones and the collector writes the same rail tables as the in-process run.

Slow and silent clients are cut off (`--header-timeout`, `--body-timeout`, `--keep-alive`),
connections are capped (`--limit-concurrency`), request bodies held in memory at once are capped
(`--body-memory`), and `X-Forwarded-For` is read only from a `--trusted-proxy`. With
`--api-keys FILE` (one key per line) every route but health needs a key in `X-API-Key`.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import math
import resource
import socket
import sys
from pathlib import Path
from typing import NoReturn

import uvicorn

from collector.app import create_app
from collector.auth import ApiKeyError, ApiKeys, read_keys
from collector.protocol import Limits, protocol_class
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
    d = Limits()
    p.add_argument("--header-timeout", type=float, default=d.header_timeout, metavar="SECONDS",
                   help=f"a request head (request line and headers) must be in within this time, counted from the "
                        f"connection or, on a kept-alive one, from the head's first byte; else 408 and the "
                        f"connection is closed; a silent new connection is closed too (default {d.header_timeout:g})")
    p.add_argument("--body-timeout", type=float, default=d.body_timeout, metavar="SECONDS",
                   help=f"a request body must be in within this time of its head; else 408 and the connection is "
                        f"closed (default {d.body_timeout:g})")
    p.add_argument("--keep-alive", type=float, default=d.keep_alive, metavar="SECONDS",
                   help=f"an idle connection between requests is closed after this time (default {d.keep_alive:g})")
    p.add_argument("--limit-concurrency", type=int, default=d.limit_concurrency, metavar="N",
                   help=f"open connections (or requests in progress) at most; beyond, 503 with Retry-After and the "
                        f"connection is closed; beyond twice as many, new connections are closed unread "
                        f"(default {d.limit_concurrency:,})")
    p.add_argument("--body-memory", type=int, default=64, metavar="MB",
                   help="request bodies held in memory at once, over all requests, in MB (10^6 bytes; at least 1, "
                        "one whole body); beyond, 503 with Retry-After (default 64)")
    p.add_argument("--trusted-proxy", dest="trusted_proxies", action="append", default=[], metavar="ADDR",
                   help="IP address or network (CIDR) of a reverse proxy in front of the collector (repeatable): "
                        "only for connections from it is the client taken from X-Forwarded-For; without it, "
                        "proxy headers are ignored")
    p.add_argument("--api-keys", type=Path, default=None, metavar="FILE",
                   help="file with one API key per line (at least 16 printable characters each): every route but "
                        "/api/v1/health then needs one of them in the X-API-Key header, else 401 (default: no key needed)")
    p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    return p


def _check_limits(args: argparse.Namespace) -> str | None:
    """The first invalid limit option, as an error message."""
    for flag in ("header_timeout", "body_timeout", "keep_alive"):
        value = getattr(args, flag)
        if not (math.isfinite(value) and value > 0):
            return f"--{flag.replace('_', '-')} must be a number of seconds above 0, not {value}"
    if args.limit_concurrency < 1:
        return "--limit-concurrency must be 1 or more"
    if args.body_memory < 1:
        return "--body-memory must be 1 MB or more (room for one whole body)"
    for addr in args.trusted_proxies:
        if addr.strip() == "*":
            return "--trusted-proxy '*' would let any client pick its own address; name the proxy's address"
        try:
            ipaddress.ip_network(addr)
        except ValueError as err:
            return f"--trusted-proxy {addr!r} is not an IP address or network: {err}"
    return None


def limits_from(args: argparse.Namespace) -> Limits:
    return Limits(header_timeout=args.header_timeout, body_timeout=args.body_timeout, keep_alive=args.keep_alive,
                  limit_concurrency=args.limit_concurrency)


def _raise_open_files(needed: int) -> None:
    """Room for `needed` connections: the soft open-files limit (often 1,024) up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.rate_limit < 0:
        print("error: --rate-limit must be 0 or more", file=sys.stderr)
        return EXIT_USAGE
    if not 0 <= args.port <= 65535:
        print("error: --port must be between 0 and 65535", file=sys.stderr)
        return EXIT_USAGE
    problem = _check_limits(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        scenario = resolve(args.preset, args.scenario, args.sets)
    except ScenarioError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    api_keys: ApiKeys | None = None
    if args.api_keys is not None:
        try:
            api_keys = read_keys(args.api_keys)
        except ApiKeyError as err:
            print(f"error: --api-keys: {err}", file=sys.stderr)
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
    app = create_app(db, scenario, rate_limit=args.rate_limit, trusted_proxies=args.trusted_proxies,
                     body_memory=args.body_memory * 1_000_000, api_keys=api_keys)
    limits = limits_from(args)
    _raise_open_files(2 * limits.limit_concurrency + 256)  # the connections answered 503, and the process's own files
    # The protocol class applies the timeouts and the connection cap (uvicorn's own cap answers a
    # plain-text 503 without Retry-After, so it is off). Proxy headers stay off
    # in uvicorn whatever $FORWARDED_ALLOW_IPS says (its default trusts 127.0.0.1); the app reads
    # X-Forwarded-For itself, from --trusted-proxy only. No WebSocket: the API has none.
    config = uvicorn.Config(app, log_level=args.log_level, access_log=False, loop="uvloop", http=protocol_class(limits),
                            ws="none", proxy_headers=False, limit_concurrency=None, timeout_graceful_shutdown=30)
    server = uvicorn.Server(config)
    print(f"collector listening on http://{args.host}:{port}/api/v1/events (db {db}, run {scenario.run_id})", flush=True)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())

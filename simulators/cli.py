"""`python -m simulators`: generate load data from a preset or scenario, list presets."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path
from typing import NoReturn

from tqdm import tqdm

from engine import store
from engine.scenario import (
    DEFAULT_PRESET,
    Scenario,
    ScenarioError,
    list_presets,
    resolve,
)
from simulators.http_sink import HttpSink
from simulators.run import Summary, run_to_sink
from simulators.shards import ShardError, for_shard, merge_run, parse_shard, shard_chunks, shard_visitors
from simulators.sinks import SinkError, sink_for

EXIT_USAGE = 2
EXIT_LOST = 3  # an HTTP run in which some event or consent record was not accepted


def _shard(text: str) -> tuple[int, int]:
    try:
        return parse_shard(text)
    except ShardError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _prog(default: str) -> str:
    """The console script's own name (drcl-...) when run as one, else `python -m ...`."""
    name = Path(sys.argv[0]).name
    return name if name.startswith("drcl-") else default


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse's own errors: same format, code 2
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=_prog("python -m simulators"), description="Dual-Rail Consent Lab traffic simulator.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    g = sub.add_parser("generate", help="simulate a run and write it out")
    g.add_argument("--preset", default=None, help=f"preset name (default {DEFAULT_PRESET}); see `presets`")
    g.add_argument("--scenario", type=Path, help="scenario file (TOML or JSON) overriding the preset")
    g.add_argument("--set", dest="sets", action="append", default=[], metavar="FIELD=VALUE",
                   help="override any scenario field by dotted path, e.g. consent.banner=no_reject (repeatable)")
    g.add_argument("--visitors", type=int, help="shortcut for --set traffic.visitors=N")
    g.add_argument("--days", type=int, help="shortcut for --set traffic.days=D")
    g.add_argument("--seed", type=int, help="shortcut for --set seed=S")
    g.add_argument("--out", required=True,
                   help="a .duckdb file (six tables), a folder (Parquet run), a .jsonl file or - (hits as JSON lines), "
                        "or a collector URL http://HOST:PORT/api/v1/events")
    g.add_argument("--shard", type=_shard, metavar="I/N",
                   help="generate only shard I of N (1-based); into a folder, the shard that completes the set publishes the run")
    h = g.add_argument_group("HTTP output (--out http://HOST:PORT/api/v1/events)")
    h.add_argument("--batch-size", type=int, default=100, help="events per request (default 100, at most 1000)")
    h.add_argument("--linger-ms", type=float, default=50.0,
                   help="with --rate: cut a batch once its first event has waited this long (default 50)")
    h.add_argument("--rate", type=float, default=None, metavar="EVENTS_PER_S",
                   help="open-model arrival rate in events/s (default: as fast as the collector answers)")
    h.add_argument("--concurrency", type=int, default=8, help="requests in flight without --rate (default 8)")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    sub.add_parser("presets", help="list the presets")
    m = sub.add_parser("merge", help="publish a complete set of Parquet shards as one run (the last shard does this itself)")
    m.add_argument("--out", required=True, type=Path, help="the runs folder the shards were written to")
    m.add_argument("run_id", help="the run id (16 hex digits) the shards' summaries printed")
    r = sub.add_parser("purge", help="apply retention to a DuckDB file or a Parquet run folder (a dry run unless --apply)")
    r.add_argument("path", type=Path, help="a .duckdb file or a Parquet run folder (data/runs/<run_id>)")
    r.add_argument("--now", required=True, type=_date, metavar="YYYY-MM-DD", help="the day retention is counted to (UTC midnight)")
    r.add_argument("--apply", action="store_true", help="delete the rows past retention (default: only report them)")
    return p


def _date(text: str) -> dt.datetime:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def resolve_scenario(args: argparse.Namespace) -> Scenario:
    shortcuts = {path: str(getattr(args, flag)) for flag, path in
                 (("visitors", "traffic.visitors"), ("days", "traffic.days"), ("seed", "seed")) if getattr(args, flag) is not None}
    return resolve(args.preset, args.scenario, args.sets, shortcuts)


def _http_sink(args: argparse.Namespace) -> HttpSink:
    return HttpSink(args.out, batch_size=args.batch_size, linger=args.linger_ms / 1000, rate=args.rate,
                    concurrency=args.concurrency)


def _summary_text(s: Summary) -> str:
    rows = "\n".join(f"  {k:<18}{v:>14,}" for k, v in s.rows.items())
    return (
        f"run {s.run_id} -> {s.destination}\n"
        f"{s.truth_events:,} truth events in {s.seconds:.2f} s ({s.events_per_second:,.0f} events/s)\n"
        f"rows per table:\n{rows}"
    )


def generate(args: argparse.Namespace) -> int:
    try:
        scenario = resolve_scenario(args)
        http = _http_sink(args) if args.out.startswith(("http://", "https://")) else None
        sink = http or sink_for(args.out)
        chunks = shard_chunks(scenario, *args.shard) if args.shard else None
        if chunks is not None:
            sink = for_shard(sink, scenario, chunks)
    except (ScenarioError, SinkError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    total = scenario.traffic.visitors if chunks is None else shard_visitors(scenario, chunks)
    bar = tqdm(total=total, unit=" visitors", disable=args.quiet, file=sys.stderr, dynamic_ncols=True)
    events = 0

    def postfix() -> str:
        return f"{events:,} events" + (f", {http.stats.events_accepted:,} accepted" if http else "")

    def progress(visitors: int, n_events: int) -> None:
        nonlocal events
        events += n_events
        bar.update(visitors)
        bar.set_postfix_str(postfix())

    if http is not None and not args.quiet:
        http.on_accepted = lambda: bar.set_postfix_str(postfix())

    try:
        summary = run_to_sink(scenario, sink, chunks=chunks, on_chunk=progress)
    except SinkError as err:  # e.g. no collector listening at the URL
        bar.close()
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        bar.close()
        return 141  # the reader of stdout went away (e.g. `| head`): stop quietly, as shell tools do
    except OSError as err:
        bar.close()
        if "Broken pipe" in str(err):
            return 141
        print(f"error: cannot write {args.out}: {err.strerror or err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        bar.close()
        if http is not None:
            print(http.report(), file=sys.stderr)
            print("interrupted: the events counted accepted above are in the collector", file=sys.stderr)
        else:
            print("interrupted: nothing was written", file=sys.stderr)
        return 130
    bar.close()
    print(_summary_text(summary), file=sys.stderr)
    if http is not None:
        print(http.report(), file=sys.stderr)
        if http.lost:
            return EXIT_LOST
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "presets":
        for name, desc in list_presets().items():
            print(f"{name:<14}{desc}")
        return 0
    if args.command == "merge":
        return merge(args)
    if args.command == "purge":
        return purge(args)
    return generate(args)


def purge(args: argparse.Namespace) -> int:
    """Print what retention removes at --now, per table and PII level; with --apply, remove it (atomically)."""
    try:
        report, deleted = store.purge_path(args.path, args.now, apply=args.apply)
    except store.StoreError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    lines = [f"{'table':<18}{'level':<10}{'kept for':>10}{'rows':>12}{'past retention':>16}"]
    for r in report.iter_rows(named=True):
        days = "forever" if r["retention_days"] is None else f"{r['retention_days']} d"
        lines.append(f"{r['table']:<18}{r['level_name']:<10}{days:>10}{r['rows']:>12,}{r['expired']:>16,}")
    print("\n".join(lines))
    total = int(report["expired"].sum())
    if deleted is None:
        print(f"dry run: {total:,} rows are past retention at {args.now:%Y-%m-%d}; nothing deleted (use --apply)", file=sys.stderr)
    else:
        print(f"deleted {sum(deleted.values()):,} rows past retention at {args.now:%Y-%m-%d} from {args.path}", file=sys.stderr)
    return 0


def merge(args: argparse.Namespace) -> int:
    if not re.fullmatch(r"[0-9a-f]{16}", args.run_id):
        print(f"error: {args.run_id!r} is not a run id (16 hex digits)", file=sys.stderr)
        return EXIT_USAGE
    try:
        totals = merge_run(args.out, args.run_id)
    except SinkError as err:  # incomplete set, wrong run, another key
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    if totals is None:
        print(f"error: no shards of run {args.run_id} are staged under {args.out} (already published?)", file=sys.stderr)
        return EXIT_USAGE
    rows = "\n".join(f"  {k:<18}{v:>14,}" for k, v in totals.items())
    print(f"run {args.run_id} -> {args.out / args.run_id}\nrows per table:\n{rows}", file=sys.stderr)
    return 0

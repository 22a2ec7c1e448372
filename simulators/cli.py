"""`python -m simulators`: generate load data from a preset or scenario, list presets."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import duckdb
from tqdm import tqdm

from engine import store
from engine.scenario import (
    DEFAULT_PRESET,
    Scenario,
    ScenarioError,
    list_presets,
    resolve,
)
from simulators import formats
from simulators.formats import FORMATS
from simulators.http_sink import HttpSink
from simulators.run import Summary, run_to_sink
from simulators.shards import (
    ShardError,
    clean_stale_staging,
    for_shard,
    merge_run,
    parse_shard,
    shard_chunks,
    shard_visitors,
)
from simulators.sinks import Cleaned, SinkError, clean_stale, clean_stale_run_folders, sink_for, stale_age

EXIT_USAGE = 2
EXIT_LOST = 3  # an HTTP run in which some event or consent record was not accepted
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A stop signal (SIGINT, SIGTERM, SIGHUP) raised as an exception in the main thread, so every
    writer's abort path (the same as Ctrl-C's) removes its temporary output."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # what a shell reports for a process the signal ended


@contextlib.contextmanager
def stop_signals_raise() -> Iterator[None]:
    """While the block runs, SIGINT, SIGTERM and SIGHUP raise Interrupted (their default is to end
    the process on the spot, leaving temporary outputs behind). Signals the caller set to be
    ignored (nohup) stay ignored; the previous handlers come back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; a caller in a thread keeps its own
        return
    previous: dict[signal.Signals, Callable[[int, FrameType | None], Any] | int | signal.Handlers] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        # Only the first signal interrupts: a second one must not cut the clean-up short.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        raise Interrupted(signum)

    for sig in STOP_SIGNALS:
        current = signal.getsignal(sig)
        if current is signal.SIG_IGN:
            continue
        # None: a handler not set from Python; the default is the closest we can give back.
        previous[sig] = signal.SIG_DFL if current is None else current
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, h in previous.items():
            signal.signal(sig, h)


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
    g.add_argument("--format", default="native", choices=FORMATS,
                   help="what the HTTP sender and JSON lines speak: native (this project's collector, default), ga4 "
                        "(Measurement Protocol), segment (HTTP tracking API batch), posthog (/batch), snowplow "
                        "(tracker protocol v2); vendor formats post to the vendor's path under the --out URL")
    h = g.add_argument_group("HTTP output (--out http://HOST:PORT/api/v1/events)")
    h.add_argument("--batch-size", type=int, default=100, help="events per request (default 100, at most 1000)")
    h.add_argument("--linger-ms", type=float, default=5000.0,
                   help="send a batch that is not full once its first event has waited this long (default 5000)")
    h.add_argument("--api-key", default=os.environ.get("DRCL_VENDOR_API_KEY") or None,
                   help="segment: the source's write key (HTTP Basic); posthog: the project API key (in the body); "
                        "default $DRCL_VENDOR_API_KEY (keeps it out of the process list)")
    h.add_argument("--rate", type=float, default=None, metavar="EVENTS_PER_S",
                   help="open-model arrival rate in events/s (default: as fast as the collector answers)")
    h.add_argument("--concurrency", type=int, default=8, help="requests in flight without --rate (default 8)")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    _stale_option(g)
    sub.add_parser("presets", help="list the presets")
    m = sub.add_parser("merge", help="publish a complete set of Parquet shards as one run (the last shard does this itself)")
    m.add_argument("--out", required=True, type=Path, help="the runs folder the shards were written to")
    m.add_argument("run_id", help="the run id (16 hex digits) the shards' summaries printed")
    _stale_option(m)
    r = sub.add_parser("purge", help="apply retention to a DuckDB file or a Parquet run folder (a dry run unless --apply)")
    store.add_purge_arguments(r)  # the same command as `python -m engine.store purge`
    return p


def _stale_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stale-after", type=_seconds, default=None, metavar="SECONDS",
                   help="first remove this output's temporary files and folders left by killed runs and untouched "
                        "for SECONDS (default: $DRCL_STALE_TMP_S, else 3600); younger ones may be a run still writing")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"not a number of seconds (0 or more): {text!r}")
    return value


def _report_cleaned(cleaned: list[Cleaned]) -> None:
    for c in cleaned:
        print(str(c), file=sys.stderr)


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def resolve_scenario(args: argparse.Namespace) -> Scenario:
    shortcuts = {path: str(getattr(args, flag)) for flag, path in
                 (("visitors", "traffic.visitors"), ("days", "traffic.days"), ("seed", "seed")) if getattr(args, flag) is not None}
    return resolve(args.preset, args.scenario, args.sets, shortcuts)


def _http_sink(args: argparse.Namespace) -> HttpSink:
    return HttpSink(args.out, batch_size=args.batch_size, linger=args.linger_ms / 1000, rate=args.rate,
                    concurrency=args.concurrency, fmt=args.format, api_key=args.api_key)


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
        sink = http or sink_for(args.out, args.format)
        chunks = shard_chunks(scenario, *args.shard) if args.shard else None
        if chunks is not None:
            sink = for_shard(sink, scenario, chunks)
        cleaned = clean_stale(sink, args.stale_after if args.stale_after is not None else stale_age())
    except (ScenarioError, SinkError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:  # e.g. a shard's staging folder that cannot be created
        print(f"error: cannot write {formats.redact(args.out)}: {err.strerror or err}", file=sys.stderr)
        return EXIT_USAGE
    _report_cleaned(cleaned)
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
        print(f"error: cannot write {formats.redact(args.out)}: {err.strerror or _first_line(err)}", file=sys.stderr)
        return EXIT_USAGE
    except duckdb.Error as err:  # e.g. the disk filled up under the DuckDB file
        bar.close()
        print(f"error: cannot write {formats.redact(args.out)}: {_first_line(err)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as err:
        bar.close()
        how = f"interrupted by {err.name}" if isinstance(err, Interrupted) else "interrupted"
        if http is not None:
            print(http.report(), file=sys.stderr)
            print(f"{how}: the events counted accepted above are in the collector", file=sys.stderr)
        elif getattr(sink, "published", False):  # the signal came after the final rename
            print(f"{how}: the run was complete and is at {sink.destination}", file=sys.stderr)
        else:
            print(f"{how}: nothing was written (the temporary output was removed)", file=sys.stderr)
        return err.exit_code if isinstance(err, Interrupted) else 130
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
    command = {"merge": merge, "purge": purge}.get(args.command, generate)
    with stop_signals_raise():
        try:
            return command(args)
        except Interrupted as err:  # outside a run (a run reports its own interruption)
            print(f"interrupted by {err.name}", file=sys.stderr)
            return err.exit_code


def purge(args: argparse.Namespace) -> int:
    """`python -m engine.store purge`, after removing the stale temporary folders beside a run folder."""
    if args.apply and args.path.is_dir():  # rewritten through a .tmp- folder beside it
        try:
            _report_cleaned(clean_stale_run_folders(args.path.parent))
        except SinkError as err:
            print(f"error: {err}", file=sys.stderr)
            return EXIT_USAGE
    return store.purge_command(args.path, args.now, args.apply)


def merge(args: argparse.Namespace) -> int:
    if not re.fullmatch(r"[0-9a-f]{16}", args.run_id):
        print(f"error: {args.run_id!r} is not a run id (16 hex digits)", file=sys.stderr)
        return EXIT_USAGE
    try:
        age = args.stale_after if args.stale_after is not None else stale_age()
        _report_cleaned(clean_stale_staging(args.out, age) + clean_stale_run_folders(args.out, age))
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

"""``artic-rl traces {stats,convert,generate,fit,download}`` and ``artic-rl link``."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from artic_rl.errors import InputError
from artic_rl.net.formats import (
    FORMATS,
    LIST_INTERVAL_MS,
    ListRun,
    atomic_write,
    detect_format,
    list_run_trace,
    load_trace,
    parse_list_runs,
    save_trace,
)
from artic_rl.net.link import Link
from artic_rl.net.stats import sample_stats, trace_stats
from artic_rl.net.trace import MTU_BYTES, Trace

LINK_CHUNK = 512  # packets per batch in the replay command


def register(subparsers: Any) -> None:
    """Add ``traces`` and ``link`` to the ``artic-rl`` dispatcher."""
    traces = subparsers.add_parser(
        "traces",
        help="read, convert, describe, generate and download network traces",
        description=(
            "Network traces: Mahimahi (.up/.down/.pps), Pensieve cooked, OpenNetLab JSON, "
            "throughput lists (one trace per run)."
        ),
    )
    sub = traces.add_subparsers(dest="traces_command", metavar="ACTION", required=True)
    _register_stats(sub)
    _register_convert(sub)
    _register_generate(sub)
    _register_fit(sub)
    _register_compare(sub)
    _register_download(sub)
    _register_link(subparsers)


SUFFIXES = {"mahimahi": ".up", "cooked": ".cooked", "json": ".json"}


def _format_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, help="input format (default: detected)")


def _interval_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--interval-ms",
        type=float,
        default=LIST_INTERVAL_MS,
        help=f"sampling interval of a throughput list without timestamps (default {LIST_INTERVAL_MS:g})",
    )


def _input_format(path: Path, fmt: str | None) -> str:
    """``fmt``, or the format detected from the file's content."""
    if fmt is not None:
        return fmt
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read trace: {err}", path) from err
    return detect_format(path, text)


def _read_runs(path: Path, interval_ms: float) -> list[ListRun]:
    if not interval_ms > 0:
        raise InputError("--interval-ms must be > 0")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read trace: {err}", path) from err
    return parse_list_runs(text, path, interval_ms)


def _register_stats(sub: Any) -> None:
    p = sub.add_parser(
        "stats",
        help="one JSON object of statistics per trace (per run of a throughput list)",
        description=(
            "Per-second capacity windows: mean, p10/p50/p90 (Mbps), outage seconds and share, "
            "lag-1 autocorrelation. A throughput list gives one line per run, over its samples "
            "(a zero sample is an outage)."
        ),
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="trace files or folders")
    _format_arg(p)
    _interval_arg(p)
    p.set_defaults(func=cmd_stats)


def _trace_files(paths: list[Path], downlinks: bool = True) -> list[Path]:
    """The files named, and the files in the folders named (sorted; hidden files, READMEs and,
    unless ``downlinks``, Mahimahi downlinks ``*.down`` left out)."""
    files: list[Path] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        files.extend(
            sorted(
                p
                for p in path.iterdir()
                if p.is_file()
                and not p.name.startswith(".")
                and not p.name.upper().startswith("README")
                and (downlinks or p.suffix != ".down")
            )
        )
    return files


def cmd_stats(args: argparse.Namespace) -> int:
    files = _trace_files(args.paths)
    for path in files:
        if _input_format(path, args.format) == "list":
            for run in _read_runs(path, args.interval_ms):
                head = {"path": str(path), "format": "list", "run": run.number}
                head["interval_ms"] = run.interval_ms
                print(json.dumps({**head, **sample_stats(run.mbps, run.interval_ms)}))
            continue
        trace = load_trace(path, args.format)
        stats = {"path": str(path), "format": trace.meta.get("format", args.format)}
        stats.update(trace_stats(trace))
        print(json.dumps(stats))
    return 0


def _register_convert(sub: Any) -> None:
    p = sub.add_parser(
        "convert",
        help="convert a trace between formats",
        description=(
            "Convert SRC to DST. Mahimahi <-> cooked/json is exact with --window-ms 1. A "
            "throughput list becomes one file per run in the folder DST: <stem>-run<N>.up "
            "(.cooked, .json)."
        ),
    )
    p.add_argument("src", type=Path, metavar="SRC")
    p.add_argument("dst", type=Path, metavar="DST")
    p.add_argument("--to", choices=sorted(SUFFIXES), required=True, help="output format")
    p.add_argument("--window-ms", type=int, default=1000, help="cooked/json window (default 1000)")
    _format_arg(p)
    _interval_arg(p)
    p.set_defaults(func=cmd_convert)


def cmd_convert(args: argparse.Namespace) -> int:
    if args.window_ms < 1:
        raise InputError("--window-ms must be >= 1")
    if _input_format(args.src, args.format) == "list":
        return _convert_list(args)
    trace = load_trace(args.src, args.format)
    _warn_trailing_outage(trace, args.src, args.to)
    save_trace(trace, args.dst, args.to, args.window_ms)
    return 0


def _convert_list(args: argparse.Namespace) -> int:
    """One output file per run of the list SRC, in the folder DST."""
    runs = _read_runs(args.src, args.interval_ms)
    if args.dst.exists() and not args.dst.is_dir():
        raise InputError("a throughput list converts into a folder, not a file", args.dst)
    traces = []
    for run in runs:
        try:
            traces.append(list_run_trace(run, f"{args.src.stem}-run{run.number}"))
        except InputError as err:
            raise InputError(str(err), args.src, run.line) from None
    args.dst.mkdir(parents=True, exist_ok=True)
    for trace in traces:
        path = args.dst / f"{trace.name}{SUFFIXES[args.to]}"
        _warn_trailing_outage(trace, path, args.to)
        save_trace(trace, path, args.to, args.window_ms)
        print(path)
    return 0


def _warn_trailing_outage(trace: Trace, where: Path, fmt: str) -> None:
    lost_ms = trace.period_ms - int(trace.opportunities_ms[-1])
    if fmt == "mahimahi" and lost_ms > 0:
        print(
            f"warning: {where}: a trailing {lost_ms} ms without capacity cannot be expressed "
            "in Mahimahi format",
            file=sys.stderr,
        )


def _register_generate(sub: Any) -> None:
    p = sub.add_parser(
        "generate",
        help="generate a deterministic train/test set of synthetic traces",
        description=(
            "Write OUT/train/<preset>-NN.up, OUT/test/<preset>-NN.up and (with --val) "
            "OUT/val/<preset>-NN.up from a preset; each split has its own random stream, so "
            "adding a split leaves the others unchanged."
        ),
    )
    p.add_argument("--preset", required=True, help="lte, 3g, 5g, wifi or a preset JSON file")
    p.add_argument("--seed", type=int, default=0, help="seed of the whole set")
    p.add_argument("--train", type=int, default=8, help="number of training traces")
    p.add_argument("--test", type=int, default=4, help="number of test traces")
    p.add_argument(
        "--val", type=int, default=0, help="number of validation traces (model selection)"
    )
    p.add_argument("--duration-s", type=float, default=120.0, help="length of each trace")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument(
        "--to",
        choices=("mahimahi", "cooked"),
        default="mahimahi",
        help="file format: Mahimahi .up (exact), or .cooked, exact per --window-ms window "
        "(a tiny file at tens of Mbps; opportunities even inside a window)",
    )
    p.add_argument("--window-ms", type=int, default=100, help="cooked window (default 100)")
    p.set_defaults(func=cmd_generate)


def cmd_generate(args: argparse.Namespace) -> int:
    from artic_rl.net.synth import SPLIT_STREAMS, generate_set, load_preset

    if min(args.train, args.test, args.val) < 0 or args.duration_s <= 0 or args.window_ms < 1:
        raise InputError("--train/--test/--val must be >= 0, --duration-s > 0, --window-ms >= 1")
    preset = load_preset(args.preset)
    for split, count in (("train", args.train), ("test", args.test), ("val", args.val)):
        if count == 0:
            continue
        rng = np.random.default_rng([args.seed, SPLIT_STREAMS[split]])
        folder = args.out / split
        folder.mkdir(parents=True, exist_ok=True)
        for trace in generate_set(preset, count, args.duration_s, rng):
            path = folder / f"{trace.name}{SUFFIXES[args.to]}"
            save_trace(trace, path, args.to, args.window_ms)
            print(json.dumps({"path": str(path), **trace_stats(trace)}))
    return 0


def _register_fit(sub: Any) -> None:
    p = sub.add_parser(
        "fit",
        help="fit a synthetic-trace preset on your own traces",
        description="Fit the Markov-modulated rate model (one regime per trace) on FILES.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--name", required=True, help="preset name")
    p.add_argument("--out", type=Path, required=True, help="output JSON file")
    p.add_argument("--levels", type=int, default=16, help="capacity levels per regime")
    p.set_defaults(func=cmd_fit)


def cmd_fit(args: argparse.Namespace) -> int:
    from artic_rl.net.fit import fit_preset

    doc = fit_preset(args.name, sorted(args.files), args.levels)
    with atomic_write(args.out) as handle:
        json.dump(doc, handle, indent=1)
        handle.write("\n")
    print(json.dumps(doc["target_stats"]))
    return 0


def _register_compare(sub: Any) -> None:
    p = sub.add_parser(
        "compare",
        help="real traces against a preset's generator: statistics and a figure",
        description=(
            "Pooled windowed-capacity statistics (mean, p10/p50/p90, outage share, lag-1 "
            "autocorrelation) of PATHs (files or folders; a throughput list gives its runs, idle "
            "edges trimmed as for fitting) and of 1,000 traces of --preset, one JSON line each, "
            "and --out: capacity over time and the CDF, real against generated."
        ),
    )
    p.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help="real trace files or folders"
    )
    p.add_argument("--preset", required=True, help="lte, 3g, 5g, wifi or a preset JSON")
    p.add_argument("--window-ms", type=int, default=1000, help="capacity window (ms)")
    p.add_argument("--generated", type=int, default=1000, help="generated traces")
    p.add_argument("--duration-s", type=float, default=120.0, help="each generated trace's length")
    p.add_argument("--out", type=Path, help="figure (PNG)")
    p.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    from artic_rl.net.compare import compare, plot_compare
    from artic_rl.net.fit import list_run_traces
    from artic_rl.net.synth import load_preset

    for name in ("window_ms", "generated", "duration_s"):
        if not getattr(args, name) > 0:
            raise InputError(
                f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}"
            )
    load_preset(args.preset)  # InputError names an unknown preset or a bad model file
    real: list[Trace] = []
    for f in _trace_files(args.paths, downlinks=False):
        real.extend(list_run_traces(f) if _input_format(f, None) == "list" else [load_trace(f)])
    if not real:
        raise InputError("no traces", args.paths[0])
    result = compare(real, args.preset, args.window_ms, args.generated, args.duration_s)
    for key in ("real", "generated"):
        print(json.dumps({"set": key, "window_ms": args.window_ms, **result[key]}))
    if args.out:
        plot_compare(result, args.out)
        print(args.out)
    return 0


def _register_download(sub: Any) -> None:
    p = sub.add_parser(
        "download",
        help="download public traces (needs internet, or a mirror via --url)",
        description="Fetch a public trace set. --url accepts https://, file:// or a folder.",
    )
    p.add_argument("dataset", choices=["mahimahi"])
    p.add_argument("--out", type=Path, default=Path("data/mahimahi"), help="destination folder")
    p.add_argument("--url", help="base URL or folder (default: the canonical repository)")
    p.add_argument("--files", nargs="*", help="only these file names")
    p.set_defaults(func=cmd_download)


def cmd_download(args: argparse.Namespace) -> int:
    from artic_rl.net.download import download

    for path in download(args.dataset, args.out, args.url, args.files):
        print(path)
    return 0


def _register_link(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "link",
        help="replay a packet schedule through the trace-driven link emulator",
        description=(
            "Replay SENDS.csv (send_ms,size_bytes) through an mm-link bottleneck; write "
            "DELIVERIES.csv (send_ms,size_bytes,arrival_ms; empty arrival = dropped or lost)."
        ),
    )
    p.add_argument("--trace", type=Path, required=True, help="trace file")
    _format_arg(p)
    p.add_argument("--delay-ms", type=float, default=0.0, help="one-way delay after the bottleneck")
    p.add_argument("--queue-packets", type=int, help="drop-tail limit in packets")
    p.add_argument("--queue-bytes", type=int, help="drop-tail limit in bytes")
    p.add_argument("--loss", type=float, default=0.0, help="independent loss probability")
    p.add_argument("--seed", type=int, default=0, help="seed of the loss")
    p.add_argument("--start-ms", type=float, default=0.0, help="offset into the trace")
    p.add_argument("--input", type=Path, required=True, help="SENDS.csv")
    p.add_argument("--output", type=Path, required=True, help="DELIVERIES.csv")
    p.set_defaults(func=cmd_link)


def read_sends(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The data lines, send times and sizes of a SENDS.csv; errors name the line."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read: {err}", path) from None
    lines = text.splitlines()
    if not lines or lines[0].replace(" ", "") != "send_ms,size_bytes":
        raise InputError("expected the header 'send_ms,size_bytes'", path, 1)
    rows = lines[1:]
    while rows and not rows[-1].strip():
        rows.pop()
    body = "\n".join(rows)
    tokens = body.replace(",", "\n").split()
    values: np.ndarray | None = None
    if len(tokens) == 2 * len(rows) and body.count(",") == len(rows):
        try:
            values = np.array(tokens, dtype=np.float64).reshape(-1, 2)
        except ValueError:
            values = None
    if values is None:
        raise _bad_send_line(rows, path)
    send, size = values[:, 0], values[:, 1]
    _check_sends(send, size, path)
    return rows, send, size.astype(np.int64)


def _check_sends(send: np.ndarray, size: np.ndarray, path: Path) -> None:
    bad = ~np.isfinite(send) | (send < 0)
    if bad.any():
        raise InputError(
            "send_ms must be a finite number >= 0", path, int(np.argmax(bad)) + 2, "send_ms"
        )
    if send.size > 1 and bool(np.any(np.diff(send) < 0)):
        line = int(np.argmax(np.diff(send) < 0)) + 3
        raise InputError("send_ms must be non-decreasing", path, line, "send_ms")
    bad = (size != np.floor(size)) | (size < 1) | (size > MTU_BYTES)
    if bad.any():
        raise InputError(
            f"size_bytes must be an integer in 1..{MTU_BYTES}",
            path,
            int(np.argmax(bad)) + 2,
            "size_bytes",
        )


def _bad_send_line(rows: list[str], path: Path) -> InputError:
    for i, row in enumerate(rows):
        fields = row.split(",")
        if len(fields) != 2:
            return InputError(f"expected 2 comma-separated fields, got {len(fields)}", path, i + 2)
        for name, field in zip(("send_ms", "size_bytes"), fields, strict=True):
            try:
                float(field)
            except ValueError:
                return InputError(f"not a number: {field.strip()!r}", path, i + 2, name)
    return InputError("malformed file", path)


def replay(link: Link, send: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Arrival of every packet, fed to the link in batches of ``LINK_CHUNK``."""
    out = np.empty(send.size, dtype=np.float64)
    for lo in range(0, send.size, LINK_CHUNK):
        hi = lo + LINK_CHUNK
        out[lo:hi] = link.send(send[lo:hi], size[lo:hi])
    return out


def _format_ms(values: np.ndarray) -> list[str]:
    finite = values[np.isfinite(values)]
    if (
        finite.size
        and bool(np.all(finite == np.round(finite)))
        and float(np.abs(finite).max()) < 2**53
    ):
        text = [str(v) for v in np.nan_to_num(values, nan=0).astype(np.int64).tolist()]
    else:
        text = [repr(v) for v in values.tolist()]
    return ["" if math.isnan(v) else t for v, t in zip(values.tolist(), text, strict=True)]


def cmd_link(args: argparse.Namespace) -> int:
    trace: Trace = load_trace(args.trace, args.format)
    if not 0.0 <= args.loss <= 1.0:
        raise InputError("--loss must be in [0, 1]")
    for name in ("queue_packets", "queue_bytes"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InputError(f"--{name.replace('_', '-')} must be >= 1")
    if args.delay_ms < 0 or args.start_ms < 0:
        raise InputError("--delay-ms and --start-ms must be >= 0")
    rows, send, size = read_sends(args.input)
    link = Link(
        trace,
        delay_ms=args.delay_ms,
        queue_packets=args.queue_packets,
        queue_bytes=args.queue_bytes,
        loss=args.loss or None,
        start_ms=args.start_ms,
        np_random=np.random.default_rng(args.seed),
    )
    arrival = replay(link, send, size)
    out = [f"{row.strip()},{a}" for row, a in zip(rows, _format_ms(arrival), strict=True)]
    with atomic_write(args.output) as handle:
        handle.write("send_ms,size_bytes,arrival_ms\n")
        if out:
            handle.write("\n".join(out))
            handle.write("\n")
    print(
        json.dumps(
            {
                "packets": int(send.size),
                "dropped": link.packets_dropped,
                "lost": link.packets_lost,
                "output": str(args.output),
            }
        ),
        file=sys.stderr,
    )
    return 0

"""Trace file formats: read (auto-detected, with an override), write (atomically).

- ``mahimahi`` (``.up``, ``.down``, ``.pps``): one integer millisecond per line, each line one
  delivery opportunity; the file repeats with period = its last timestamp.
- ``cooked`` (Pensieve): ``time_s throughput_Mbps`` per line, space or tab separated; row ``i``'s
  rate holds from its time until the next row's, the last row for the median step.
- ``json`` (OpenNetLab): ``{"uplink": {"trace_pattern": [{"duration": ms, "capacity": kbps,
  "loss": fraction, "rtt": ms}, ...]}}`` or a bare ``{"trace_pattern": [...]}``.
- ``list`` (throughput lists of the 5G mmWave uplink study, Ghoshal et al., 5G-MeMU 2022):
  several runs per file, each a ``Run N`` line (optionally after a ``###...`` separator) and
  either one line of comma-separated throughput samples in Mbps, one per
  ``interval_ms`` (default :data:`LIST_INTERVAL_MS`), or pairs of lines (timestamps in seconds,
  then the throughput at those times). Each run is one trace; a zero sample is an outage.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from artic_rl.errors import InputError
from artic_rl.net.trace import (
    BITS_PER_OPPORTUNITY,
    MS_PER_S,
    Trace,
    opportunities_from_rate,
    per_window_counts,
)

FORMATS = ("mahimahi", "cooked", "json", "list")
MAHIMAHI_SUFFIXES = (".up", ".down", ".pps")

LIST_INTERVAL_MS = 100.0
"""Sampling interval assumed for a throughput list without timestamps (``--interval-ms``).

The study's repository does not state it. 100 ms is what the data says: (1) its driving
files carry timestamps, in steps of exactly 0.1 s (18.777, 18.877, ...); (2) 33 of the 36
static 5G runs start near zero and pass half their median within 1-6 samples: a TCP slow
start to ~100 Mbps over a path of tens of milliseconds takes a few hundred milliseconds, not
the 1-6 s that a 1 s interval would make of it; (3) runs last 12-17 s (static, 118-173
samples) and 50-62 s (walking, 495-621 samples), plausible iPerf runs, where one sample a
second would make them 2-10 minutes.
"""


def detect_format(path: str | Path, text: str) -> str:
    """The format of a trace file from its content.

    JSON object; throughput list (first line ``Run ...`` or only ``#``); one or two numeric
    columns (Mahimahi, cooked).
    """
    stripped = text.lstrip()
    if not stripped:
        raise InputError("empty trace file", path, 1)
    if stripped[0] in "{[":
        return "json"
    if _LIST_HEAD.match(stripped):
        return "list"
    first = stripped.split("\n", 1)[0].split()
    if len(first) == 1:
        return "mahimahi"
    if len(first) == 2:
        return "cooked"
    line = text[: len(text) - len(stripped)].count("\n") + 1
    raise InputError(
        f"unknown trace format (a line with {len(first)} fields); "
        "use --format mahimahi|cooked|json|list",
        path,
        line,
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read trace: {err}", path) from err


def load_trace(
    path: str | Path, fmt: str | None = None, interval_ms: float = LIST_INTERVAL_MS
) -> Trace:
    """Read one trace file.

    Args:
        path: The file.
        fmt: ``mahimahi``, ``cooked``, ``json`` or ``list``; ``None`` detects it from the content.
        interval_ms: Sampling interval of a ``list`` without timestamps.

    Raises:
        InputError: Unreadable file, unknown format, empty file, a non-numeric token,
            decreasing timestamps or negative values (naming the file and the line); a list
            of several runs (read it with :func:`load_traces`).
    """
    path = Path(path)
    text = _read_text(path)
    if fmt is None:
        fmt = detect_format(path, text)
    if fmt == "mahimahi":
        return parse_mahimahi(text, path)
    if fmt == "cooked":
        return parse_cooked(text, path)
    if fmt == "json":
        return parse_json(text, path)
    if fmt == "list":
        traces = parse_list(text, path, interval_ms)
        if len(traces) > 1:
            raise InputError(
                f"a list of {len(traces)} runs is several traces: read it with load_traces, "
                "or convert it with `artic-rl traces convert`",
                path,
            )
        return traces[0]
    raise InputError(f"unknown trace format {fmt!r} (expected one of {', '.join(FORMATS)})", path)


def load_traces(
    path: str | Path, fmt: str | None = None, interval_ms: float = LIST_INTERVAL_MS
) -> list[Trace]:
    """Every trace a file holds: one per run of a ``list``, else the one trace of the file."""
    path = Path(path)
    if fmt is None:
        fmt = detect_format(path, _read_text(path))
    if fmt == "list":
        return parse_list(_read_text(path), path, interval_ms)
    return [load_trace(path, fmt)]


def load_trace_dir(
    path: str | Path, fmt: str | None = None, interval_ms: float = LIST_INTERVAL_MS
) -> list[Trace]:
    """Every uplink trace in a directory (not recursive), sorted by file name; a list gives its runs.

    Hidden files and ``README*`` / ``*.md`` files are skipped, and so are Mahimahi downlink traces
    (``*.down``) beside uplinks (a Mahimahi folder holds both directions); a folder holding only
    downlinks is an error, not uplinks. ``interval_ms`` is the sampling interval of throughput
    lists without timestamps.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InputError("not a directory", folder)
    files = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and not _is_doc(p.name)
    )
    if not files:
        raise InputError("no trace files in directory", folder)
    uplinks = [p for p in files if p.suffix != ".down"]
    if not uplinks:
        raise InputError(
            f"holds only Mahimahi downlink traces (*.down, {len(files)}); give a folder of uplinks",
            folder,
        )
    files = uplinks
    return [trace for p in files for trace in load_traces(p, fmt, interval_ms)]


def load_trace_groups(
    paths: Sequence[str | Path], fmt: str | None = None, interval_ms: float = LIST_INTERVAL_MS
) -> list[tuple[str, list[Trace]]]:
    """Each folder's label (:func:`folder_labels`) and traces (:func:`load_trace_dir`), in the
    order given, the names unique across all of them (:func:`pooled`). A folder named twice is
    an error."""
    folders = [Path(p) for p in paths]
    if not folders:
        raise InputError("no trace folders given")
    first: dict[Path, Path] = {}
    for folder in folders:
        same = first.setdefault(folder.resolve(), folder)
        if same is not folder:
            raise InputError(f"named twice (also as {same})", folder)
    labels = folder_labels(folders)
    groups = [
        (lab, load_trace_dir(f, fmt, interval_ms)) for lab, f in zip(labels, folders, strict=True)
    ]
    named = iter(pooled(groups))
    return [(lab, [next(named) for _ in traces]) for lab, traces in groups]


def folder_labels(folders: Sequence[str | Path]) -> list[str]:
    """The shortest tails of the folders' absolute paths that tell them apart
    (``static/lte``, ``walking/lte``; ``lte`` and ``5g`` where the last parts differ)."""
    parts = [Path(f).resolve().parts for f in folders]
    depth = max((len(p) for p in parts), default=1)
    for k in range(1, depth + 1):
        labels = ["/".join(p[-k:]) for p in parts]
        if len(set(labels)) == len(labels):
            return labels
    return ["/".join(p) for p in parts]


def pooled(groups: Sequence[tuple[str, list[Trace]]]) -> list[Trace]:
    """The traces of ``groups`` (a label, usually the folder's, and its traces) in one list, every
    name unique and the same on every run: a name that more than one trace has becomes
    ``<label>/<name>``; where that still repeats (two files of one folder with one stem), the
    second becomes ``<label>/<name>~2``, the third ``~3``. Names that were unique stay as they are.
    """
    counts: dict[str, int] = {}
    for _, traces in groups:
        for trace in traces:
            counts[trace.name] = counts.get(trace.name, 0) + 1
    out: list[Trace] = []
    taken: dict[str, int] = {}
    for label, traces in groups:
        for trace in traces:
            name = trace.name if counts[trace.name] == 1 else f"{label}/{trace.name}"
            taken[name] = taken.get(name, 0) + 1
            if taken[name] > 1:
                name = f"{name}~{taken[name]}"
            out.append(trace if name == trace.name else trace.with_name(name))
    return out


def _is_doc(name: str) -> bool:
    return name.upper().startswith("README") or name.endswith((".md", ".txt.license"))


def _bad_line(text: str, path: Path, check: Any) -> InputError:
    """Locate the first line that ``check(tokens)`` rejects; it returns a message or None."""
    for lineno, line in enumerate(text.split("\n"), start=1):
        tokens = line.split()
        if not tokens:
            continue
        message = check(tokens)
        if message:
            return InputError(message, path, lineno)
    return InputError("malformed trace", path)


def _check_mahimahi_tokens(tokens: list[str]) -> str | None:
    if len(tokens) != 1:
        return f"expected one integer millisecond per line, got {len(tokens)} fields"
    try:
        value = int(tokens[0])
    except ValueError:
        return f"not an integer millisecond: {tokens[0]!r}"
    return "negative timestamp" if value < 0 else None


def _first_line_of_index(text: str, index: int) -> int:
    """Line number (1-based) of the ``index``-th non-blank line."""
    seen = -1
    for lineno, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            seen += 1
            if seen == index:
                return lineno
    return 1


def parse_mahimahi(text: str, path: str | Path = "<string>") -> Trace:
    """Parse Mahimahi packet-delivery text (see the module docstring)."""
    path = Path(path)
    tokens = text.split()
    if not tokens:
        raise InputError("empty trace file", path, 1)
    try:
        opps = np.array(tokens, dtype=np.int64)
    except (ValueError, OverflowError):
        raise _bad_line(text, path, _check_mahimahi_tokens) from None
    if (" " in text or "\t" in text) and any(len(line.split()) > 1 for line in text.split("\n")):
        raise _bad_line(text, path, _check_mahimahi_tokens)
    if bool(np.any(opps < 0)):
        raise InputError(
            "negative timestamp", path, _first_line_of_index(text, int(np.argmax(opps < 0)))
        )
    drops = np.flatnonzero(np.diff(opps) < 0)
    if drops.size:
        line = _first_line_of_index(text, int(drops[0]) + 1)
        raise InputError("timestamps decrease", path, line)
    if opps[-1] <= 0:
        raise InputError("last timestamp must be > 0 (it is the period)", path)
    return Trace(path.stem, opps, int(opps[-1]), meta={"format": "mahimahi"})


def _parse_columns(text: str, path: Path, n_cols: int, what: str) -> np.ndarray:
    rows: list[list[float]] = []
    lines: list[int] = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        tokens = line.replace(",", " ").split()
        if not tokens or tokens[0].startswith("#"):
            continue
        if len(tokens) != n_cols:
            raise InputError(f"expected {n_cols} fields ({what}), got {len(tokens)}", path, lineno)
        try:
            values = [float(tok) for tok in tokens]
        except ValueError:
            bad = next(tok for tok in tokens if not _is_float(tok))
            raise InputError(f"not a number: {bad!r}", path, lineno) from None
        if not all(np.isfinite(values)):
            raise InputError("not a finite number", path, lineno)
        rows.append(values)
        lines.append(lineno)
    if not rows:
        raise InputError("empty trace file", path, 1)
    array = np.array(rows, dtype=np.float64)
    return np.column_stack([array, np.array(lines, dtype=np.float64)])


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def parse_cooked(text: str, path: str | Path = "<string>") -> Trace:
    """Parse a Pensieve cooked trace (``time_s throughput_Mbps`` per line)."""
    path = Path(path)
    table = _parse_columns(text, path, 2, "time_s throughput_Mbps")
    time_s, mbps, lines = table[:, 0], table[:, 1], table[:, 2].astype(int)
    if np.any(time_s < 0):
        raise InputError("negative time", path, int(lines[np.argmax(time_s < 0)]), "time_s")
    if np.any(mbps < 0):
        raise InputError("negative throughput", path, int(lines[np.argmax(mbps < 0)]), "Mbps")
    steps = np.diff(time_s)
    if np.any(steps <= 0):
        line = int(lines[np.argmax(steps <= 0) + 1])
        raise InputError("time must increase from line to line", path, line, "time_s")
    last_step = float(np.median(steps)) if steps.size else 1.0
    edges_ms = np.concatenate([time_s, [time_s[-1] + last_step]]) * MS_PER_S
    try:
        trace = opportunities_from_rate(edges_ms, mbps * 1e3, path.stem)
    except ValueError as err:
        raise InputError(str(err), path) from None
    object.__setattr__(trace, "meta", {"format": "cooked"})
    return trace


def parse_json(text: str, path: str | Path = "<string>") -> Trace:
    """Parse an OpenNetLab-style JSON bandwidth series with optional loss and RTT."""
    path = Path(path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"invalid JSON: {err.msg}", path, err.lineno) from None
    pattern = _find_pattern(doc)
    if pattern is None or not isinstance(pattern, list) or not pattern:
        raise InputError("no non-empty 'trace_pattern' list (or 'uplink.trace_pattern')", path)
    durations, capacities, losses, rtts = [], [], [], []
    for i, seg in enumerate(pattern):
        where = f"trace_pattern[{i}]"
        if not isinstance(seg, dict):
            raise InputError("segment is not an object", path, field=where)
        durations.append(_json_number(seg, "duration", path, where, required=True, positive=True))
        capacities.append(_json_number(seg, "capacity", path, where, required=True))
        losses.append(_json_number(seg, "loss", path, where, upper=1.0))
        rtts.append(_json_number(seg, "rtt", path, where))
    edges = np.concatenate([[0.0], np.cumsum(durations)])
    try:
        trace = opportunities_from_rate(edges, np.array(capacities), path.stem)
    except ValueError as err:
        raise InputError(str(err), path) from None
    return Trace(
        trace.name,
        trace.opportunities_ms,
        trace.period_ms,
        segment_end_ms=edges[1:],
        segment_loss=np.array(losses),
        segment_rtt_ms=np.array(rtts),
        meta={"format": "json"},
    )


def _find_pattern(doc: Any) -> Any:
    if isinstance(doc, dict):
        if "trace_pattern" in doc:
            return doc["trace_pattern"]
        for key in ("uplink", "downlink"):
            if isinstance(doc.get(key), dict) and "trace_pattern" in doc[key]:
                return doc[key]["trace_pattern"]
    return None


def _json_number(
    seg: dict[str, Any],
    key: str,
    path: Path,
    where: str,
    required: bool = False,
    positive: bool = False,
    upper: float | None = None,
) -> float:
    if key not in seg:
        if required:
            raise InputError(f"missing {key!r}", path, field=f"{where}.{key}")
        return 0.0
    value = seg[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise InputError(f"{key} must be a number, got {value!r}", path, field=f"{where}.{key}")
    if value < 0 or (positive and value == 0):
        raise InputError(
            f"{key} must be {'> 0' if positive else '>= 0'}", path, field=f"{where}.{key}"
        )
    if upper is not None and value > upper:
        raise InputError(f"{key} must be a fraction in [0, {upper}]", path, field=f"{where}.{key}")
    return float(value)


# ---------------------------------------------------------------- throughput lists

_LIST_HEAD = re.compile(r"(#+[ \t\r]*(\n|$)|Run\b)")
_RUN = re.compile(r"Run[ \t]+(\d+)[ \t]*$")


@dataclass(frozen=True)
class ListRun:
    """One run of a throughput list, on a regular grid.

    Attributes:
        number: N of its ``Run N`` line.
        line: The line of ``Run N`` (1-based).
        mbps: Throughput of each sample (Mbps, >= 0; 0 = outage).
        interval_ms: The grid step.
    """

    number: int
    line: int
    mbps: np.ndarray
    interval_ms: float

    @property
    def duration_s(self) -> float:
        return self.mbps.size * self.interval_ms / MS_PER_S


def parse_list_runs(
    text: str, path: str | Path = "<string>", interval_ms: float = LIST_INTERVAL_MS
) -> list[ListRun]:
    """The runs of a throughput list (see the module docstring), in file order.

    A run of one data line is sampled every ``interval_ms``. A run of line pairs (timestamps in
    seconds, then throughput) is put on an ``interval_ms`` grid from its earliest timestamp:
    samples falling in one grid step are averaged, the series of a run are added (the legs of
    one uplink), and a step no series covers is an outage.

    Raises:
        InputError: Naming the file and line: data before any ``Run N``, a repeated or
            malformed ``Run`` line, a run without data, a non-numeric, negative or infinite
            sample, timestamps and samples of different counts or timestamps that decrease.
    """
    path = Path(path)
    if not interval_ms > 0:
        raise InputError(f"the sampling interval must be > 0 ms, got {interval_ms}", path)
    blocks: list[tuple[int, int, list[tuple[int, str]]]] = []
    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or set(line) == {"#"}:
            continue
        if line.startswith("Run"):
            match = _RUN.match(line)
            if match is None:
                raise InputError(f"expected 'Run N', got {line[:40]!r}", path, lineno)
            number = int(match.group(1))
            if any(number == b[0] for b in blocks):
                raise InputError(f"run {number} appears twice", path, lineno)
            blocks.append((number, lineno, []))
        elif not blocks:
            raise InputError("data before the first 'Run N' line", path, lineno)
        else:
            blocks[-1][2].append((lineno, line))
    if not blocks:
        raise InputError("empty throughput list (no 'Run N' line)", path, 1)
    return [_list_run(number, lineno, rows, path, interval_ms) for number, lineno, rows in blocks]


def _list_run(
    number: int, lineno: int, rows: list[tuple[int, str]], path: Path, interval_ms: float
) -> ListRun:
    if not rows:
        raise InputError(f"run {number} has no samples", path, lineno)
    series = [_list_numbers(text, path, line) for line, text in rows]
    if len(series) == 1:
        return ListRun(number, lineno, _checked_mbps(series[0], path, rows[0][0]), interval_ms)
    if len(series) % 2:
        raise InputError(
            f"run {number}: {len(series)} data lines (expected one, or timestamp/throughput pairs)",
            path,
            rows[-1][0],
        )
    pairs = []
    for k in range(0, len(series), 2):
        (t_line, _), (v_line, _) = rows[k], rows[k + 1]
        time_s, mbps = series[k], _checked_mbps(series[k + 1], path, v_line)
        if time_s.size != mbps.size:
            raise InputError(
                f"{mbps.size} samples for {time_s.size} timestamps (line {t_line})", path, v_line
            )
        if time_s.size > 1 and bool(np.any(np.diff(time_s) < 0)):
            raise InputError("timestamps decrease", path, t_line)
        pairs.append((time_s, mbps))
    return ListRun(number, lineno, _on_grid(pairs, interval_ms), interval_ms)


def _list_numbers(text: str, path: Path, lineno: int) -> np.ndarray:
    tokens = [tok.strip() for tok in text.split(",")]
    try:
        values = np.array([float(tok) for tok in tokens], dtype=np.float64)
    except ValueError:
        bad = next(tok for tok in tokens if not _is_float(tok))
        index = tokens.index(bad) + 1
        raise InputError(f"sample {index} is not a number: {bad!r}", path, lineno) from None
    if not np.all(np.isfinite(values)):
        index = int(np.argmax(~np.isfinite(values))) + 1
        raise InputError(f"sample {index} is not a finite number", path, lineno)
    return values


def _checked_mbps(values: np.ndarray, path: Path, lineno: int) -> np.ndarray:
    if bool(np.any(values < 0)):
        index = int(np.argmax(values < 0)) + 1
        raise InputError(f"sample {index} is a negative throughput", path, lineno, "Mbps")
    return values


def _on_grid(pairs: list[tuple[np.ndarray, np.ndarray]], interval_ms: float) -> np.ndarray:
    """Timestamped series on one ``interval_ms`` grid: averaged inside a step, summed across."""
    step_s = interval_ms / MS_PER_S
    start_s = min(float(t[0]) for t, _ in pairs)
    bins = [np.floor((t - start_s) / step_s + 1e-6).astype(np.int64) for t, _ in pairs]
    n_steps = max(int(b[-1]) for b in bins) + 1
    total = np.zeros(n_steps)
    for b, (_, mbps) in zip(bins, pairs, strict=True):
        sums = np.bincount(b, weights=mbps, minlength=n_steps)
        counts = np.bincount(b, minlength=n_steps)
        total += np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    return total


def list_run_trace(run: ListRun, name: str) -> Trace:
    """The trace of one run: its samples as piecewise-constant capacity, period = its length."""
    edges_ms = np.arange(run.mbps.size + 1) * run.interval_ms
    try:
        trace = opportunities_from_rate(edges_ms, run.mbps * 1e3, name)
    except ValueError as err:
        raise InputError(f"run {run.number}: {err}") from None
    meta = {"format": "list", "run": str(run.number), "interval_ms": f"{run.interval_ms:g}"}
    object.__setattr__(trace, "meta", meta)
    return trace


def parse_list(
    text: str, path: str | Path = "<string>", interval_ms: float = LIST_INTERVAL_MS
) -> list[Trace]:
    """One trace per run of a throughput list, named ``<file stem>-run<N>``."""
    path = Path(path)
    traces = []
    for run in parse_list_runs(text, path, interval_ms):
        try:
            traces.append(list_run_trace(run, f"{path.stem}-run{run.number}"))
        except InputError as err:
            raise InputError(str(err), path, run.line) from None
    return traces


# ---------------------------------------------------------------- writing


@contextmanager
def atomic_write(path: str | Path) -> Iterator[IO[str]]:
    """Write a text file via a temporary file renamed into place: nothing half-written."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w") as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def format_mahimahi(trace: Trace) -> str:
    """Mahimahi text (one timestamp per line). A period longer than the last timestamp is lost."""
    return "\n".join(map(str, trace.opportunities_ms.tolist())) + "\n"


def format_cooked(trace: Trace, window_ms: int = MS_PER_S) -> str:
    """Cooked text: per-window throughput; ``window_ms=1`` round-trips a Mahimahi trace exactly."""
    counts = per_window_counts(trace, window_ms, full_only=False)
    mbps = counts * BITS_PER_OPPORTUNITY / (window_ms * 1e3)
    times = np.arange(counts.size) * (window_ms / MS_PER_S)
    return "".join(
        f"{t:.3f}\t{r:.6f}\n" for t, r in zip(times.tolist(), mbps.tolist(), strict=True)
    )


def format_json(trace: Trace, window_ms: int = MS_PER_S) -> str:
    """OpenNetLab JSON: one segment per window (capacity in kbps), loss/rtt when known."""
    counts = per_window_counts(trace, window_ms, full_only=False)
    kbps = counts * BITS_PER_OPPORTUNITY / window_ms
    starts = np.arange(counts.size) * window_ms
    pattern = []
    for start, cap in zip(starts.tolist(), kbps.tolist(), strict=True):
        seg: dict[str, float] = {"duration": window_ms, "capacity": round(cap, 6)}
        if trace.has_segments:
            j = int(trace.segment_at(np.array([start]))[0])
            if trace.segment_loss is not None:
                seg["loss"] = float(trace.segment_loss[j])
            if trace.segment_rtt_ms is not None:
                seg["rtt"] = float(trace.segment_rtt_ms[j])
        pattern.append(seg)
    return json.dumps({"type": "video", "uplink": {"trace_pattern": pattern}}, indent=1) + "\n"


def save_trace(
    trace: Trace, path: str | Path, fmt: str = "mahimahi", window_ms: int = MS_PER_S
) -> None:
    """Write a trace atomically in ``mahimahi``, ``cooked`` or ``json`` format."""
    if fmt == "mahimahi":
        text = format_mahimahi(trace)
    elif fmt == "cooked":
        text = format_cooked(trace, window_ms)
    elif fmt == "json":
        text = format_json(trace, window_ms)
    else:
        raise InputError(f"unknown trace format {fmt!r} (expected one of {', '.join(FORMATS)})")
    with atomic_write(path) as handle:
        handle.write(text)

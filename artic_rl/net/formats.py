"""Trace file formats: read (auto-detected, with an override), write (atomically).

- ``mahimahi`` (``.up``, ``.down``, ``.pps``): one integer millisecond per line, each line one
  delivery opportunity; the file repeats with period = its last timestamp.
- ``cooked`` (Pensieve): ``time_s throughput_Mbps`` per line, space or tab separated; row ``i``'s
  rate holds from its time until the next row's, the last row for the median step.
- ``json`` (OpenNetLab): ``{"uplink": {"trace_pattern": [{"duration": ms, "capacity": kbps,
  "loss": fraction, "rtt": ms}, ...]}}`` or a bare ``{"trace_pattern": [...]}``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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

FORMATS = ("mahimahi", "cooked", "json")
MAHIMAHI_SUFFIXES = (".up", ".down", ".pps")


def detect_format(path: str | Path, text: str) -> str:
    """The format of a trace file from its content (JSON object, one or two numeric columns)."""
    stripped = text.lstrip()
    if not stripped:
        raise InputError("empty trace file", path, 1)
    if stripped[0] in "{[":
        return "json"
    first = stripped.split("\n", 1)[0].split()
    if len(first) == 1:
        return "mahimahi"
    if len(first) == 2:
        return "cooked"
    line = text[: len(text) - len(stripped)].count("\n") + 1
    raise InputError(
        f"unknown trace format (a line with {len(first)} fields); "
        "use --format mahimahi|cooked|json",
        path,
        line,
    )


def load_trace(path: str | Path, fmt: str | None = None) -> Trace:
    """Read one trace file.

    Args:
        path: The file.
        fmt: ``mahimahi``, ``cooked`` or ``json``; ``None`` detects it from the content.

    Raises:
        InputError: Unreadable file, unknown format, empty file, a non-numeric token,
            decreasing timestamps or negative values (naming the file and the line).
    """
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read trace: {err}", path) from err
    if fmt is None:
        fmt = detect_format(path, text)
    if fmt == "mahimahi":
        return parse_mahimahi(text, path)
    if fmt == "cooked":
        return parse_cooked(text, path)
    if fmt == "json":
        return parse_json(text, path)
    raise InputError(f"unknown trace format {fmt!r} (expected one of {', '.join(FORMATS)})", path)


def load_trace_dir(path: str | Path, fmt: str | None = None) -> list[Trace]:
    """Every trace file in a directory (not recursive), sorted by file name.

    Hidden files and ``README*`` / ``*.md`` files are skipped.
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
    return [load_trace(p, fmt) for p in files]


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

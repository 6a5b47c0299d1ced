"""The in-memory trace: delivery opportunities of a trace-driven bottleneck (Mahimahi's model).

A trace is a list of integer millisecond timestamps, each one delivery opportunity of
``MTU_BYTES`` bytes; several opportunities in one millisecond repeat the timestamp. The trace
repeats with period ``period_ms``. Formats that carry more (OpenNetLab JSON) add piecewise-constant
loss and RTT per segment.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

MTU_BYTES = 1504
"""Bytes one delivery opportunity carries (mm-link's ``PACKET_SIZE``)."""

TABLE_MAX_MS = 1 << 23
"""Longest period (about 2.3 h) for which a trace keeps a per-millisecond lookup table."""

BITS_PER_BYTE = 8
MS_PER_S = 1000
BITS_PER_OPPORTUNITY = MTU_BYTES * BITS_PER_BYTE
OPPORTUNITY_MBIT = BITS_PER_OPPORTUNITY / 1e6
"""Megabits one opportunity carries: n opportunities per second = n * OPPORTUNITY_MBIT Mbps."""


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Trace:
    """Delivery opportunities of a link, repeating with period ``period_ms``.

    Attributes:
        name: A label, usually the file stem.
        opportunities_ms: int64, non-decreasing, >= 0; one entry per ``MTU_BYTES`` opportunity.
        period_ms: The trace repeats every ``period_ms``; Mahimahi files use their last
            timestamp. Formats that know their duration (cooked, JSON) may set a longer period
            (a trailing outage), which a Mahimahi file cannot express.
        segment_end_ms: Optional float64 ends of piecewise-constant segments (increasing).
        segment_loss: Optional random loss probability per segment, in [0, 1].
        segment_rtt_ms: Optional round-trip time per segment.
    """

    name: str
    opportunities_ms: np.ndarray
    period_ms: int
    segment_end_ms: np.ndarray | None = None
    segment_loss: np.ndarray | None = None
    segment_rtt_ms: np.ndarray | None = None
    meta: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        opps = np.ascontiguousarray(self.opportunities_ms, dtype=np.int64)
        if opps.ndim != 1 or opps.size == 0:
            raise ValueError(f"trace {self.name!r}: needs at least one opportunity")
        if opps[0] < 0:
            raise ValueError(f"trace {self.name!r}: negative timestamp")
        if opps.size > 1 and bool(np.any(np.diff(opps) < 0)):
            raise ValueError(f"trace {self.name!r}: timestamps decrease")
        period = int(self.period_ms)
        if period <= 0 or period < int(opps[-1]):
            raise ValueError(
                f"trace {self.name!r}: period_ms {period} must be > 0 and >= the last timestamp"
            )
        object.__setattr__(self, "opportunities_ms", _readonly(opps))
        object.__setattr__(self, "period_ms", period)
        for name in ("segment_end_ms", "segment_loss", "segment_rtt_ms"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _readonly(np.array(value, dtype=np.float64)))
        if self.segment_end_ms is not None:
            n_seg = self.segment_end_ms.size
            for name in ("segment_loss", "segment_rtt_ms"):
                value = getattr(self, name)
                if value is not None and value.size != n_seg:
                    raise ValueError(f"trace {self.name!r}: {name} has the wrong length")

    @property
    def duration_s(self) -> float:
        """One period, in seconds."""
        return self.period_ms / MS_PER_S

    @property
    def mean_mbps(self) -> float:
        """Average capacity over one period."""
        return self.opportunities_ms.size * BITS_PER_OPPORTUNITY / (self.period_ms * 1e3)

    @property
    def has_segments(self) -> bool:
        return self.segment_end_ms is not None

    def segment_at(self, trace_ms: np.ndarray) -> np.ndarray:
        """Index of the segment that holds each trace time (wrapped into one period)."""
        if self.segment_end_ms is None:
            raise ValueError(f"trace {self.name!r} has no segments")
        phase = np.mod(np.asarray(trace_ms, dtype=np.float64), self.period_ms)
        idx = np.searchsorted(self.segment_end_ms, phase, side="right")
        return np.minimum(idx, self.segment_end_ms.size - 1)

    @functools.cached_property
    def opportunities_through(self) -> np.ndarray | None:
        """``table[m]`` = number of opportunities at or before millisecond ``m`` of one period.

        A lookup table (int64, one entry per millisecond) that turns "first opportunity after
        t" into one gather; ``None`` for periods over ``TABLE_MAX_MS`` (binary search then).
        """
        if self.period_ms > TABLE_MAX_MS:
            return None
        # the opportunities per millisecond, summed up: one pass, not a binary search per entry
        at_ms = np.minimum(self.opportunities_ms, self.period_ms)  # later ones count for none
        table = np.cumsum(np.bincount(at_ms, minlength=self.period_ms + 1)[: self.period_ms])
        return _readonly(table.astype(np.int64))

    def scaled(self, factor: float) -> Trace:
        """The same trace with its capacity multiplied by ``factor`` (> 0), a pure function.

        Opportunities keep their timestamps; the ``i``-th one (counting from 1) becomes
        ``floor(factor * i) - floor(factor * (i - 1))`` opportunities (a tolerance of 1e-9 absorbs
        floating-point error in ``factor * i``). So ``factor < 1`` thins them evenly (0.5 keeps
        every second one) and ``factor > 1`` replicates them (2 doubles each, 1.5 alternates one
        and two), and at every timestamp the cumulative count is ``floor(factor * n)`` of the
        original ``n``: never ahead of the exact scaled capacity and never more than one
        opportunity (1504 bytes) behind it. Outages stay exactly where they were (no
        opportunity in, none out); the period, segments (loss, RTT) and name are kept, and
        ``meta["capacity_scale"]`` records the factor. ``factor == 1`` returns the trace itself.

        Raises:
            ValueError: ``factor`` is not a finite number > 0, or so small that no
                opportunity is left in the period.
        """
        factor = float(factor)
        if not np.isfinite(factor) or factor <= 0.0:
            raise ValueError(f"trace {self.name!r}: capacity scale must be > 0, got {factor}")
        if factor == 1.0:
            return self
        n = self.opportunities_ms.size
        cumulative = np.floor(factor * np.arange(n + 1, dtype=np.float64) + 1e-9).astype(np.int64)
        copies = np.diff(cumulative)
        opps = np.repeat(self.opportunities_ms, copies)
        if opps.size == 0:
            raise ValueError(
                f"trace {self.name!r}: capacity scale {factor} leaves no delivery opportunity "
                f"(the trace has {n} in {self.period_ms} ms)"
            )
        meta = dict(self.meta)
        previous = float(meta.get("capacity_scale", "1"))
        meta["capacity_scale"] = repr(previous * factor)
        return Trace(
            self.name,
            opps,
            self.period_ms,
            self.segment_end_ms,
            self.segment_loss,
            self.segment_rtt_ms,
            meta,
        )

    def with_name(self, name: str) -> Trace:
        """The same trace under another name."""
        return Trace(
            name,
            self.opportunities_ms,
            self.period_ms,
            self.segment_end_ms,
            self.segment_loss,
            self.segment_rtt_ms,
            dict(self.meta),
        )


def opportunities_from_rate(
    edges_ms: np.ndarray, rate_kbps: np.ndarray, name: str = "trace", period_ms: int | None = None
) -> Trace:
    """A trace whose capacity is ``rate_kbps[i]`` on ``[edges_ms[i], edges_ms[i + 1])``.

    Bytes accumulate continuously; an opportunity is placed at the end of the millisecond in
    which the cumulative byte count crosses the next multiple of ``MTU_BYTES`` (so rates that are
    whole opportunities per millisecond convert exactly).

    Args:
        edges_ms: len(rate_kbps) + 1 increasing segment boundaries; the first is the trace start.
        rate_kbps: Capacity per segment, >= 0.
        name: The trace's name.
        period_ms: The period; defaults to the end of the last segment rounded to a millisecond.
    """
    edges = np.asarray(edges_ms, dtype=np.float64) - float(edges_ms[0])
    rates = np.asarray(rate_kbps, dtype=np.float64)
    end_ms = int(round(edges[-1]))
    grid = np.arange(end_ms + 1, dtype=np.float64)
    # cumulative bytes at each segment edge, then at each whole millisecond (piecewise linear)
    bytes_per_ms = rates / BITS_PER_BYTE  # kbit/s = bit/ms -> bytes/ms
    cum_edges = np.concatenate([[0.0], np.cumsum(bytes_per_ms * np.diff(edges))])
    cum_ms = np.interp(grid, edges, cum_edges)
    whole = np.floor(cum_ms / MTU_BYTES + 1e-9).astype(np.int64)
    counts = np.diff(whole)
    opps = np.repeat(np.arange(1, end_ms + 1, dtype=np.int64), counts)
    if opps.size == 0:
        raise ValueError(f"trace {name!r}: zero capacity everywhere")
    return Trace(name, opps, max(int(opps[-1]), period_ms or end_ms))


def per_window_counts(
    trace: Trace, window_ms: int = MS_PER_S, full_only: bool = True
) -> np.ndarray:
    """Opportunities per window over one period; window ``w`` covers ``(w*W, (w+1)*W]``.

    An opportunity at millisecond ``m`` carries the bytes accumulated during ``[m - 1, m)``,
    so it belongs to the window holding ``m - 1``. With ``full_only`` a trailing partial
    window is left out (unless it is the only one).
    """
    opps = trace.opportunities_ms
    n_full, rest = divmod(trace.period_ms, window_ms)
    n_windows = n_full + (1 if rest else 0)
    counts = np.bincount(np.maximum(opps - 1, 0) // window_ms, minlength=n_windows)[:n_windows]
    if full_only and rest and n_full > 0:
        counts = counts[:n_full]
    return counts

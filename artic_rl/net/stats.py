"""Trace statistics over per-second throughput windows (what ``artic-rl traces stats`` prints)."""

from __future__ import annotations

import numpy as np

from artic_rl.net.trace import BITS_PER_OPPORTUNITY, MS_PER_S, Trace, per_window_counts


def per_second_mbps(trace: Trace, window_ms: int = MS_PER_S) -> np.ndarray:
    """Capacity (Mbps) of each full window of one period (a trace shorter than one: one value)."""
    counts = per_window_counts(trace, window_ms, full_only=True)
    span_ms = min(window_ms, trace.period_ms)
    return counts * BITS_PER_OPPORTUNITY / (span_ms * 1e3)


def lag1_autocorr(series: np.ndarray) -> float:
    """Pearson correlation of a series with itself one step later (0 for a constant series)."""
    if series.size < 3:
        return 0.0
    a, b = series[:-1], series[1:]
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def series_stats(mbps: np.ndarray) -> dict[str, float]:
    """Mean, p10/p50/p90, outage seconds and share, lag-1 autocorrelation of a per-second series."""
    p10, p50, p90 = np.percentile(mbps, [10, 50, 90])
    outage = int(np.count_nonzero(mbps == 0))
    return {
        "mean_mbps": round(float(mbps.mean()), 6),
        "p10_mbps": round(float(p10), 6),
        "p50_mbps": round(float(p50), 6),
        "p90_mbps": round(float(p90), 6),
        "outage_s": outage,
        "outage_share": round(outage / mbps.size, 6),
        "lag1_autocorr": round(lag1_autocorr(mbps), 6),
    }


def sample_stats(mbps: np.ndarray, interval_ms: float) -> dict[str, float]:
    """:func:`series_stats` of samples taken every ``interval_ms``, with the duration and the
    outage (zero samples) in seconds."""
    stats = series_stats(mbps)
    stats["outage_s"] = round(int(stats["outage_s"]) * interval_ms / MS_PER_S, 6)
    return {"duration_s": round(mbps.size * interval_ms / MS_PER_S, 6), **stats}


def trace_stats(trace: Trace) -> dict[str, float]:
    """``duration_s`` plus :func:`series_stats` of the trace's per-second capacity."""
    return {"duration_s": trace.duration_s, **series_stats(per_second_mbps(trace))}


def pooled_stats(traces: list[Trace], window_ms: int = MS_PER_S) -> dict[str, float]:
    """Statistics of several traces pooled window by window (autocorrelation within each trace).

    With ``window_ms`` other than a second, ``outage_s`` counts outage windows.
    """
    series = [per_second_mbps(t, window_ms) for t in traces]
    pooled = series_stats(np.concatenate(series))
    pooled["lag1_autocorr"] = round(pooled_lag1(series), 6)
    pooled["duration_s"] = float(sum(t.duration_s for t in traces))
    return pooled


def pooled_lag1(series: list[np.ndarray]) -> float:
    """Lag-1 autocorrelation over pairs taken inside each series, around the pooled mean."""
    allv = np.concatenate(series)
    mean, var = allv.mean(), allv.var()
    if var == 0:
        return 0.0
    num = sum(float(((s[:-1] - mean) * (s[1:] - mean)).sum()) for s in series)
    pairs = sum(max(s.size - 1, 0) for s in series)
    return num / pairs / var if pairs else 0.0

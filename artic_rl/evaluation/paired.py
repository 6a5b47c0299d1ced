"""Paired statistics: metrics pooled over questions, frames and steps, and paired-bootstrap CIs.

Pairing: every agent runs the episodes reset with seeds ``seed + i``; the environment draws the
trace, the start offset, the question schedule, the region predictions and the inference times
from the reset seed, so episode ``i`` is the same situation for every agent, and differences are
bootstrapped over episodes (resampling the same episode indices for both agents).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from artic_rl.evaluation.rollout import EpisodeResult, flat

#: Metrics whose paired difference from the reference gets a bootstrap CI.
CI_METRICS: tuple[str, ...] = (
    "accuracy_pct",
    "latency_mean_ms",
    "latency_p95_ms",
    "frame_delay_ms",
    "frame_latency_ms",
    "bitrate_kbps",
    "reward",
)

#: Where the latency goes (``info["episode_latency_breakdown_ms"]``): mean per episode.
BREAKDOWN: tuple[str, ...] = ("retransmission_wait", "jitter_hold", "frozen")

#: The environment's weighted reward terms (``info["reward_terms"]``), which sum to the reward.
REWARD_TERMS: tuple[str, ...] = ("question", "latency", "sample", "frame_delay", "bits")


def pooled_metrics(episodes: list[EpisodeResult]) -> dict[str, float]:
    """Metrics over all questions / frames / steps of a set of episodes (NaN where there is none)."""
    acc = flat(episodes, "accuracy")
    lat = flat(episodes, "latency_ms")
    fd = flat(episodes, "frame_delay_ms")
    fl = flat(episodes, "frame_latency_ms")
    rate = flat(episodes, "bitrate_kbps")
    cap = flat(episodes, "capacity_kbps")
    stale = flat(episodes, "stale_frames")

    def mean(x: np.ndarray) -> float:
        return float(x.mean()) if x.size else math.nan

    def pct(x: np.ndarray, q: float) -> float:
        return float(np.percentile(x, q)) if x.size else math.nan

    return {
        "episodes": float(len(episodes)),
        "questions": float(acc.size),
        "accuracy_pct": 100.0 * mean(acc),
        "latency_mean_ms": mean(lat),
        "latency_p50_ms": pct(lat, 50),
        "latency_p95_ms": pct(lat, 95),
        "latency_p99_ms": pct(lat, 99),
        "frame_delay_ms": mean(fd),
        "frame_latency_ms": mean(fl),
        "bitrate_kbps": mean(rate),
        "utilisation": float(rate.sum() / cap.sum()) if cap.sum() > 0 else math.nan,
        "stale_share": mean(stale),
        "reward": mean(np.asarray([e.reward for e in episodes], dtype=np.float64)),
        **{
            f"reward_{k}": mean(np.asarray([e.reward_terms.get(k, math.nan) for e in episodes]))
            for k in REWARD_TERMS
        },
        **{
            f"{k}_ms": mean(np.asarray([e.latency_breakdown_ms.get(k, math.nan) for e in episodes]))
            for k in BREAKDOWN
        },
    }


#: Ratio metrics pooled over questions / frames / steps: (numerator, denominator) per episode.
_POOLED_RATIOS: dict[str, tuple[str, str | None, float]] = {
    "accuracy_pct": ("accuracy", None, 100.0),
    "latency_mean_ms": ("latency_ms", None, 1.0),
    "frame_delay_ms": ("frame_delay_ms", None, 1.0),
    "frame_latency_ms": ("frame_latency_ms", None, 1.0),
    "bitrate_kbps": ("bitrate_kbps", None, 1.0),
    "stale_share": ("stale_frames", None, 1.0),
    "utilisation": ("bitrate_kbps", "capacity_kbps", 1.0),
}


#: Percentiles pooled over questions: (per-question attribute, percentile).
_POOLED_PERCENTILES: dict[str, tuple[str, float]] = {
    "latency_p50_ms": ("latency_ms", 50.0),
    "latency_p95_ms": ("latency_ms", 95.0),
    "latency_p99_ms": ("latency_ms", 99.0),
}


def _boot_values(episodes: list[EpisodeResult], metric: str, idx: np.ndarray) -> np.ndarray:
    """``metric`` pooled over each bootstrap row of episode indices ``idx`` (n_boot, n): the
    values :func:`pooled_metrics` gives each row's episodes, computed from per-episode arrays
    (sums for the ratios, the questions themselves for the percentiles)."""
    if metric == "reward":
        return np.asarray([e.reward for e in episodes])[idx].mean(axis=1)
    if metric in _POOLED_RATIOS:
        num_attr, den_attr, scale = _POOLED_RATIOS[metric]
        num = np.asarray([float(np.sum(getattr(e, num_attr))) for e in episodes])
        if den_attr is None:
            den = np.asarray([float(len(getattr(e, num_attr))) for e in episodes])
        else:
            den = np.asarray([float(np.sum(getattr(e, den_attr))) for e in episodes])
        with np.errstate(invalid="ignore", divide="ignore"):
            return scale * num[idx].sum(axis=1) / den[idx].sum(axis=1)
    if metric in _POOLED_PERCENTILES:
        attr, q = _POOLED_PERCENTILES[metric]
        per_episode = [np.asarray(getattr(e, attr), dtype=np.float64) for e in episodes]
        out = np.full(len(idx), math.nan)
        for b, row in enumerate(idx):
            pooled = np.concatenate([per_episode[i] for i in row])
            if pooled.size:
                out[b] = np.percentile(pooled, q)
        return out
    return np.asarray([pooled_metrics([episodes[i] for i in row])[metric] for row in idx])


def paired_bootstrap_ci(
    agent: list[EpisodeResult],
    reference: list[EpisodeResult],
    metric: str,
    n_boot: int,
    np_random: np.random.Generator,
) -> tuple[float, float, float]:
    """(difference, low, high): ``metric(agent) - metric(reference)`` and its 95 % percentile CI,
    resampling episode indices jointly for both (the episodes are paired by seed). Means are pooled
    over questions / frames / steps exactly as :func:`pooled_metrics` pools them."""
    idx = np_random.integers(0, len(agent), size=(n_boot, len(agent)))
    return _paired_ci(agent, reference, metric, idx)


def _paired_ci(
    agent: list[EpisodeResult], reference: list[EpisodeResult], metric: str, idx: np.ndarray
) -> tuple[float, float, float]:
    """:func:`paired_bootstrap_ci` over given resample rows ``idx`` (n_boot, n)."""
    if [e.seed for e in agent] != [e.seed for e in reference]:
        raise ValueError("paired bootstrap needs the same seeds for both agents")
    diff = pooled_metrics(agent)[metric] - pooled_metrics(reference)[metric]
    boots = _boot_values(agent, metric, idx) - _boot_values(reference, metric, idx)
    boots = boots[~np.isnan(boots)]
    if boots.size == 0:
        return diff, math.nan, math.nan
    return diff, float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


def summarise(
    results: dict[str, list[EpisodeResult]],
    reference: str,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Per agent: pooled metrics plus ``vs_<reference>``: difference and 95 % CI per CI metric.

    Every agent and metric is resampled with the same episode indices (drawn once from ``seed``),
    so adding an agent or a metric leaves the other intervals unchanged."""
    summary: dict[str, dict[str, Any]] = {}
    n = len(results.get(reference, []))
    idx = np.random.default_rng(seed).integers(0, max(n, 1), size=(n_boot, n))
    for name, episodes in results.items():
        row: dict[str, Any] = pooled_metrics(episodes)
        if reference in results and name != reference:
            row[f"vs_{reference}"] = {
                m: dict(
                    zip(
                        ("diff", "ci_low", "ci_high"),
                        _paired_ci(episodes, results[reference], m, idx),
                        strict=True,
                    )
                )
                for m in CI_METRICS
            }
        summary[name] = row
    return summary


def per_trace(results: dict[str, list[EpisodeResult]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per agent and trace: episodes, accuracy %, mean latency ms and mean reward, pooled as in
    :func:`pooled_metrics`. Means over a whole test set can hide that a policy wins on some
    networks and loses on others; this is where that shows."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, episodes in results.items():
        traces: dict[str, list[EpisodeResult]] = {}
        for e in episodes:
            traces.setdefault(e.trace, []).append(e)
        out[name] = {}
        for trace in sorted(traces):
            m = pooled_metrics(traces[trace])
            keys = ("episodes", "accuracy_pct", "latency_mean_ms", "reward")
            out[name][trace] = {k: m[k] for k in keys}
    return out


def pareto_disagreements(
    summary: dict[str, dict[str, Any]],
    accuracy: str = "accuracy_pct",
    latency: str = "latency_mean_ms",
) -> list[tuple[str, str]]:
    """Pairs ``(a, b)`` where ``a`` Pareto-dominates ``b`` (at least as accurate and at least as
    fast, better in one) yet does not score a higher mean reward: the reward then ranks against
    the user's interest. Empty for an objective that agrees with Pareto dominance."""
    out = []
    for a, ra in summary.items():
        for b, rb in summary.items():
            if a == b:
                continue
            dominates = ra[accuracy] >= rb[accuracy] and ra[latency] <= rb[latency]
            strictly = ra[accuracy] > rb[accuracy] or ra[latency] < rb[latency]
            if dominates and strictly and not ra["reward"] > rb["reward"]:
                out.append((a, b))
    return out

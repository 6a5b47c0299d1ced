"""Fit the synthetic-trace presets: ``python -m artic_rl.net.fit [--data DIR] [--out DIR]``.

``lte`` is fitted on the Mahimahi LTE uplinks and ``3g`` on the UMTS and EVDO uplinks (from
../shared/data/traces/mahimahi, never copied into the repository); ``5g`` and ``wifi`` are built
from summary statistics (mean, p10, p90, outage share, lag-1 autocorrelation) that are recorded,
with their sources, in ``LITERATURE``. The fitted numbers are written to
``artic_rl/data/net/<preset>.json`` together with the statistics they reproduce.

Fitting (see :mod:`artic_rl.net.synth` for the model): per-second capacities of every source
trace are pooled; seconds with no opportunity are the outage state; the others are split at the
quantiles into ``n_levels`` levels; transition counts are taken inside each trace, which is
cyclic like a Mahimahi trace (so ``start``, the state frequency, is the chain's stationary
distribution). A fitted preset has one such regime per source trace, weighted by duration.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import stats as sps

from artic_rl.net.formats import atomic_write, load_trace
from artic_rl.net.stats import per_second_mbps, pooled_stats
from artic_rl.net.synth import RateModel
from artic_rl.net.trace import Trace

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "traces" / "mahimahi"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data" / "net"
N_LEVELS = 16
LEVEL_POINTS = np.linspace(0.0, 1.0, 5)  # quantile points kept inside each level

FITTED = {
    "lte": ("ATT-LTE-driving.up", "TMobile-LTE-short.up", "Verizon-LTE-short.up"),
    "3g": ("TMobile-UMTS-driving.up", "Verizon-EVDO-driving.up"),
}

LITERATURE: dict[str, dict] = {
    "5g": {
        "mean_mbps": 30.0,
        "p10_mbps": 6.0,
        "p90_mbps": 60.0,
        "outage_share": 0.01,
        "mean_outage_s": 2.0,
        "lag1_autocorr": 0.85,
        "source": (
            "Approximate smartphone 5G uplink figures (mid-band and NSA mmWave mixed) in the range "
            "reported by Narayanan et al., 'A First Look at Commercial 5G Performance on "
            "Smartphones', WWW 2020, and 'A Variegated Look at 5G in the Wild', SIGCOMM 2021; "
            "outage share and autocorrelation chosen to match the LTE fit's order. Not fitted to "
            "a dataset: refit with `artic-rl traces fit` on real 5G uplink traces when available."
        ),
    },
    "wifi": {
        "mean_mbps": 40.0,
        "p10_mbps": 15.0,
        "p90_mbps": 65.0,
        "outage_share": 0.003,
        "mean_outage_s": 1.0,
        "lag1_autocorr": 0.8,
        "source": (
            "Approximate home/office 802.11ac uplink throughput of a phone (tens of Mbps, rare "
            "sub-second stalls), in the range reported by Sui et al., 'Characterizing and "
            "Improving WiFi Latency in Large-Scale Operational Networks', MobiSys 2016, and "
            "Pei et al., 'WiFi can be the weakest link of round trip network latency in the "
            "wild', INFOCOM 2016. Not fitted to a dataset."
        ),
    },
}


def state_series(mbps: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """State of each second: 0 = outage, else the level whose range holds it (1..K)."""
    n_levels = edges.size - 1
    level = np.clip(np.searchsorted(edges, mbps, side="right"), 1, n_levels)
    return np.where(mbps > 0, level, 0)


def fit_rate_model(traces: Sequence[Trace], name: str, n_levels: int = N_LEVELS) -> RateModel:
    """Fit the Markov-modulated rate model on the per-second capacity of ``traces``."""
    series = [per_second_mbps(t) for t in traces]
    pooled = np.concatenate(series)
    active = pooled[pooled > 0]
    if active.size < 2:
        raise ValueError("too little capacity to fit a model")
    edges = np.unique(np.quantile(active, np.linspace(0.0, 1.0, n_levels + 1)))
    n_states = edges.size
    counts = np.zeros((n_states, n_states))
    freq = np.zeros(n_states)
    for mbps in series:
        states = state_series(mbps, edges)
        # the trace repeats (Mahimahi): its last second is followed by its first
        np.add.at(counts, (states, np.roll(states, -1)), 1.0)
        freq += np.bincount(states, minlength=n_states)
    rows = counts.sum(axis=1, keepdims=True)
    transition = np.where(rows > 0, counts / np.maximum(rows, 1.0), np.eye(n_states))
    levels = np.array(
        [
            np.quantile(active[state_series(active, edges) == k], LEVEL_POINTS)
            for k in range(1, n_states)
        ]
    )
    return RateModel(name, levels, transition, freq / freq.sum())


def literature_model(name: str, spec: dict, n_levels: int = N_LEVELS) -> RateModel:
    """A model from summary numbers: log-normal levels, Gaussian-copula AR(1) moves, outages.

    The active seconds' capacity is log-normal through ``p10`` and ``p90``; consecutive seconds
    follow a Gaussian AR(1) in normal scores (its correlation set so that the log-normal
    capacity has Pearson lag-1 correlation ``lag1_autocorr``), discretised on
    ``n_levels`` equiprobable levels; outages start with the rate that gives ``outage_share``
    and last ``mean_outage_s`` on average (geometric), then resume at a random level.
    """
    z10 = sps.norm.ppf(0.9)
    mu = 0.5 * (np.log(spec["p10_mbps"]) + np.log(spec["p90_mbps"]))
    sigma = (np.log(spec["p90_mbps"]) - np.log(spec["p10_mbps"])) / (2 * z10)
    probs = np.linspace(0.0, 1.0, n_levels + 1)
    probs[0], probs[-1] = 0.005, 0.995
    # each level keeps log-normal quantile points at 5 probabilities across its range
    inside = probs[:-1, None] + (probs[1:] - probs[:-1])[:, None] * LEVEL_POINTS[None, :]
    levels = np.exp(mu + sigma * sps.norm.ppf(inside))
    # normal-score correlation giving the wanted Pearson lag-1 correlation of a log-normal
    target = spec["lag1_autocorr"] * np.expm1(sigma**2)
    rho = min(float(np.log1p(target) / sigma**2), 0.995)
    z_edges = sps.norm.ppf(np.linspace(0.0, 1.0, n_levels + 1))
    # P(next level j | level i) for z' = rho z + sqrt(1 - rho^2) e, z uniform in its level
    inner = np.zeros((n_levels, n_levels))
    for i in range(n_levels):
        z = sps.norm.ppf(np.linspace(i, i + 1, 202)[1:-1] / n_levels)
        cdf = sps.norm.cdf((z_edges[None, :] - rho * z[:, None]) / np.sqrt(1 - rho**2))
        inner[i] = np.diff(cdf, axis=1).mean(axis=0)
    share, leave = spec["outage_share"], 1.0 / spec["mean_outage_s"]
    enter = share * leave / (1.0 - share)
    transition = np.zeros((n_levels + 1, n_levels + 1))
    transition[0, 0] = 1.0 - leave
    transition[0, 1:] = leave / n_levels
    transition[1:, 0] = enter
    transition[1:, 1:] = (1.0 - enter) * inner / inner.sum(axis=1, keepdims=True)
    start = np.concatenate([[share], np.full(n_levels, (1.0 - share) / n_levels)])
    return RateModel(name, levels, transition, start)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fit_preset(name: str, files: Sequence[Path], n_levels: int = N_LEVELS) -> dict:
    """The JSON document of a preset fitted on ``files`` (model, sources, target statistics)."""
    traces = [load_trace(p) for p in files]
    total_s = sum(t.duration_s for t in traces)
    regimes = []
    for trace in traces:
        regime = fit_rate_model([trace], trace.name, n_levels).to_dict()
        regimes.append({**regime, "weight": round(trace.duration_s / total_s, 6)})
    return {
        "preset": name,
        "kind": "fitted",
        "source": "Mahimahi cellular uplink traces (Winstein et al., NSDI 2013)",
        "fitted_on": [{"file": p.name, "sha256": _sha256(p)} for p in files],
        "target_stats": pooled_stats(traces),
        "regimes": regimes,
    }


def literature_preset(name: str, n_levels: int = N_LEVELS) -> dict:
    spec = LITERATURE[name]
    model = literature_model(name, spec, n_levels)
    return {
        "preset": name,
        "kind": "literature",
        "source": spec["source"],
        "summary": {k: v for k, v in spec.items() if k != "source"},
        "regimes": [{**model.to_dict(), "weight": 1.0}],
    }


def write_preset(doc: dict, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{doc['preset']}.json"
    with atomic_write(path) as handle:
        json.dump(doc, handle, indent=1)
        handle.write("\n")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m artic_rl.net.fit", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Mahimahi traces folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON files go")
    parser.add_argument("--levels", type=int, default=N_LEVELS, help="capacity levels per model")
    args = parser.parse_args(argv)
    for name, files in FITTED.items():
        path = write_preset(fit_preset(name, [args.data / f for f in files], args.levels), args.out)
        print(f"fitted {name} -> {path}")
    for name in LITERATURE:
        print(f"built {name} -> {write_preset(literature_preset(name, args.levels), args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

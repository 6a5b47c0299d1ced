"""Fit the synthetic-trace presets: ``python -m artic_rl.net.fit [--data DIR] [--lists DIR] [--out DIR]``.

``lte`` is fitted on the Mahimahi LTE uplinks and ``3g`` on the UMTS and EVDO uplinks (from
../shared/data/traces/mahimahi), ``5g`` on the static and walking 5G mmWave uplink lists of
Ghoshal et al. (5G-MeMU 2022, from ../shared/data/traces/mmwave-uplink) at their 100 ms
sampling; nothing is copied into the repository. ``wifi`` is built from summary statistics
(mean, p10, p90, outage share, lag-1 autocorrelation) that are recorded, with their sources, in
``LITERATURE``. The fitted numbers are written to ``artic_rl/data/net/<preset>.json`` together
with the statistics they reproduce.

Fitting (see :mod:`artic_rl.net.synth` for the model): per-second capacities of every source
trace are pooled; seconds with no opportunity are the outage state; the others are split at the
quantiles into ``n_levels`` levels; transition counts are taken inside each trace, which is
cyclic like a Mahimahi trace (so ``start``, the state frequency, is the chain's stationary
distribution). A fitted preset has one such regime per source trace (per list file for
``5g``, its runs pooled), weighted by duration. ``5g`` counts windows of 100 ms instead of
seconds, and each run loses its idle edges first (:func:`trim_idle_edges`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy import stats as sps

from artic_rl.net.formats import (
    LIST_INTERVAL_MS,
    atomic_write,
    list_run_trace,
    load_trace,
    parse_list_runs,
)
from artic_rl.net.stats import per_second_mbps, pooled_stats
from artic_rl.net.synth import RateModel
from artic_rl.net.trace import MS_PER_S, Trace

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "traces" / "mahimahi"
DEFAULT_LISTS = DEFAULT_DATA.parent / "mmwave-uplink"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data" / "net"
N_LEVELS = 16
LEVEL_POINTS = np.linspace(0.0, 1.0, 5)  # quantile points kept inside each level

FITTED = {
    "lte": ("ATT-LTE-driving.up", "TMobile-LTE-short.up", "Verizon-LTE-short.up"),
    "3g": ("TMobile-UMTS-driving.up", "Verizon-EVDO-driving.up"),
}
MAHIMAHI_SOURCE = "Mahimahi cellular uplink traces (Winstein et al., NSDI 2013)"

FITTED_LISTS = {
    "5g": tuple(
        [f"static/5g/{side}_p{i}.list" for side in ("away", "toward") for i in (1, 2, 3)]
        + ["walking/5g/away.list", "walking/5g/toward.list"]
    ),
}
"""Lists (under ``--lists``) each fitted preset is fitted on: the study's 5G mmWave runs."""
LIST_SOURCE = (
    "Uplink throughput of commercial 5G mmWave (Verizon, NSA) measured with saturating iPerf "
    "flows from phones, static and walking: Ghoshal et al., 'An In-Depth Study of Uplink "
    "Performance of 5G mmWave Networks', ACM SIGCOMM 5G-MeMU 2022, "
    "github.com/NUWiNS/sigcomm-5gmemu-5g-mmWave-uplink-data (commit 255526a). Samples every "
    "100 ms (artic_rl.net.formats.LIST_INTERVAL_MS); each run's idle edges trimmed "
    "(artic_rl.net.fit.trim_idle_edges)."
)
LIST_STEP_MS = int(LIST_INTERVAL_MS)
IDLE_SHARE = 0.5
"""An edge sample below this share of its run's median is the flow not yet or no longer sending."""

LITERATURE: dict[str, dict] = {
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


def fit_rate_model(
    traces: Sequence[Trace], name: str, n_levels: int = N_LEVELS, step_ms: int = MS_PER_S
) -> RateModel:
    """Fit the Markov-modulated rate model on the capacity of ``traces`` per ``step_ms``."""
    series = [per_second_mbps(t, step_ms) for t in traces]
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
    return RateModel(name, levels, transition, freq / freq.sum(), step_ms)


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
    return {
        "preset": name,
        "kind": "fitted",
        "source": MAHIMAHI_SOURCE,
        "fitted_on": [{"file": p.name, "sha256": _sha256(p)} for p in files],
        "target_stats": pooled_stats(traces),
        "regimes": _regimes([[t] for t in traces], [t.name for t in traces], n_levels, MS_PER_S),
    }


def _regimes(
    groups: Sequence[Sequence[Trace]], names: Sequence[str], n_levels: int, step_ms: int
) -> list[dict]:
    """One fitted regime per group of traces, weighted by duration."""
    total_s = sum(t.duration_s for group in groups for t in group)
    regimes = []
    for group, name in zip(groups, names, strict=True):
        regime = fit_rate_model(group, name, n_levels, step_ms).to_dict()
        weight = sum(t.duration_s for t in group) / total_s
        regimes.append({**regime, "weight": round(weight, 6)})
    return regimes


def trim_idle_edges(mbps: np.ndarray, share: float = IDLE_SHARE) -> np.ndarray:
    """The samples from the first to the last at or above ``share`` of the median.

    A saturating flow's run starts before it sends (zeros, then slow start) and the logging
    outlasts it (the static 5G runs end in 1-4 s of zeros after an abrupt stop): those edges
    are the measurement, not the network.
    """
    busy = np.flatnonzero(mbps >= share * np.median(mbps))
    return mbps[busy[0] : busy[-1] + 1] if busy.size else mbps[:0]


def list_run_traces(path: Path, interval_ms: float = LIST_INTERVAL_MS) -> list[Trace]:
    """The runs of a throughput list as traces, idle edges trimmed; names ``<stem>-run<N>``."""
    runs = parse_list_runs(path.read_text(), path, interval_ms)
    return [
        list_run_trace(replace(run, mbps=trim_idle_edges(run.mbps)), f"{path.stem}-run{run.number}")
        for run in runs
    ]


def fit_list_preset(name: str, root: Path, files: Sequence[str], n_levels: int = N_LEVELS) -> dict:
    """The JSON document of a preset fitted on throughput lists (one regime per file)."""
    groups = [list_run_traces(root / f) for f in files]
    traces = [t for group in groups for t in group]
    return {
        "preset": name,
        "kind": "fitted",
        "source": LIST_SOURCE,
        "fitted_on": [{"file": f, "sha256": _sha256(root / f)} for f in files],
        "target_stats": pooled_stats(traces, LIST_STEP_MS),
        "target_stats_per_second": pooled_stats(traces),
        "regimes": _regimes(
            groups, [f.removesuffix(".list") for f in files], n_levels, LIST_STEP_MS
        ),
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
    parser.add_argument(
        "--lists", type=Path, default=DEFAULT_LISTS, help="5G mmWave uplink lists folder"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON files go")
    parser.add_argument("--levels", type=int, default=N_LEVELS, help="capacity levels per model")
    args = parser.parse_args(argv)
    for name, files in FITTED.items():
        path = write_preset(fit_preset(name, [args.data / f for f in files], args.levels), args.out)
        print(f"fitted {name} -> {path}")
    for name, lists in FITTED_LISTS.items():
        path = write_preset(fit_list_preset(name, args.lists, lists, args.levels), args.out)
        print(f"fitted {name} -> {path}")
    for name in LITERATURE:
        print(f"built {name} -> {write_preset(literature_preset(name, args.levels), args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

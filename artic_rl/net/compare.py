"""Real against generated traces: the figure behind a fitted preset (``artic-rl traces compare``).

The fit test (``tests/net/test_net_synth.py``) checks a preset's generator against the real traces
it was fitted on by five statistics; :func:`compare` shows the same comparison to the eye: the
capacity of one real run and one generated trace over time, and the distribution of the windowed
capacity of every real run against 1,000 generated traces, measured on the same windows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from artic_rl.net.stats import per_second_mbps, pooled_lag1, series_stats
from artic_rl.net.synth import generate_trace, step_capacity
from artic_rl.net.trace import Trace


def compare(
    real: list[Trace],
    preset: str,
    window_ms: int,
    n_generated: int = 1000,
    duration_s: float = 120.0,
    seed: int = 0,
) -> dict[str, Any]:
    """Pooled statistics of the real traces and of ``n_generated`` generated ones of
    ``duration_s``, with the series the figure draws."""
    rng = np.random.default_rng(seed)
    real_series = [per_second_mbps(t, window_ms) for t in real]
    gen_series = step_capacity(preset, n_generated, duration_s, rng, window_ms)
    out: dict[str, Any] = {"window_ms": window_ms, "preset": preset}
    for key, series in (("real", real_series), ("generated", gen_series)):
        stats = series_stats(np.concatenate(series))
        stats["lag1_autocorr"] = round(pooled_lag1(series), 6)
        out[key] = {"traces": len(series), **stats}
    example = generate_trace(preset, duration_s, np.random.default_rng(seed + 1))
    longest = max(range(len(real)), key=lambda k: real[k].duration_s)
    out["series"] = {
        "real": real_series,
        "real_example": (real[longest].name, real_series[longest]),
        "generated": gen_series,
        "generated_example": per_second_mbps(example, window_ms),
    }
    return out


def plot_compare(result: dict[str, Any], path: Path, example_s: float = 60.0) -> None:
    """Capacity over time (the longest real run and one generated trace, their first
    ``example_s`` seconds) and the CDF of the windowed capacity, real against generated."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    window_s = result["window_ms"] / 1000.0
    series = result["series"]
    name, real_example = series["real_example"]
    fig, (ax_t, ax_c) = plt.subplots(1, 2, figsize=(11, 4))
    n = int(example_s / window_s)
    for label, values in (
        (f"real: {name}", real_example[:n]),
        (f"generated: {result['preset']}", series["generated_example"][:n]),
    ):
        ax_t.plot(np.arange(len(values)) * window_s, values, lw=0.9, label=label)
    ax_t.set_xlabel("time (s)")
    ax_t.set_ylabel(f"capacity (Mbps, {result['window_ms']} ms windows)")
    ax_t.legend(fontsize=8)
    for key, style in (("real", "-"), ("generated", "--")):
        values = np.sort(np.concatenate(series[key]))
        values = np.maximum(values, 1e-3)  # outages (0 Mbps) at the axis' left edge
        ax_c.plot(values, np.arange(1, values.size + 1) / values.size, style,
                  label=f"{key} ({result[key]['traces']} traces)")  # fmt: skip
    ax_c.set_xscale("log")
    ax_c.set_xlabel("capacity (Mbps)")
    ax_c.set_ylabel("CDF")
    ax_c.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)

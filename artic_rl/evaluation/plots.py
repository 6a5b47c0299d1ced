"""The evaluation's figures: latency CDF, accuracy against bitrate, one trace's timeline per agent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from artic_rl.evaluation.rollout import EpisodeResult, agent_env_kwargs, flat, run_episode


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (files only, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_log_x(plt: Any, fig: Any, ax: Any, path: Path, xlabel: str, ylabel: str) -> None:
    """Log x axis, labels, grid and legend; write ``path`` and close the figure."""
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_latency_cdf(path: Path, results: dict[str, list[EpisodeResult]]) -> None:
    """Empirical CDF of the response latency of every answered question, one line per agent."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, eps in results.items():
        lat = np.sort(flat(eps, "latency_ms"))
        if lat.size:
            ax.step(lat, np.arange(1, lat.size + 1) / lat.size, where="post", label=name)
    _save_log_x(plt, fig, ax, path, "response latency (ms)", "CDF over questions")


def plot_accuracy_vs_bitrate(path: Path, results: dict[str, list[EpisodeResult]]) -> None:
    """Per episode (small) and pooled (large) accuracy against mean sending bitrate, per agent."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, eps in results.items():
        rows = [e.summary() for e in eps]
        x = np.array([r["bitrate_kbps"] for r in rows])
        y = np.array([r["accuracy_pct"] for r in rows])
        pts = ax.scatter(x, y, s=10, alpha=0.35)
        acc = flat(eps, "accuracy")
        rate = flat(eps, "bitrate_kbps")
        if acc.size and rate.size:
            ax.scatter(
                [rate.mean()], [100 * acc.mean()], s=80, color=pts.get_facecolor()[0], label=name
            )
    _save_log_x(plt, fig, ax, path, "mean sending bitrate (kbps)", "question accuracy (%)")


def timeline(env: Any, agent: Any, seed: int) -> dict[str, np.ndarray]:
    """One episode step by step: time, capacity, sending rate and mean frame delay per interval."""
    rows: list[tuple[float, float, float, float]] = []

    def record(obs: np.ndarray, action: np.ndarray, reward: float, info: dict[str, Any]) -> None:
        delays = info["frame_delay_ms"]
        delay = float(np.mean(delays)) if delays else float("nan")
        t = float(info["feedback"].now_ms)
        rows.append((t, float(info["capacity_kbps"]), float(info["bitrate_kbps"]), delay))

    run_episode(env, agent, seed, on_step=record)
    a = np.asarray(rows)
    return {"t_s": a[:, 0] / 1000.0, "capacity": a[:, 1], "rate": a[:, 2], "delay": a[:, 3]}


def plot_timeline(path: Path, series: dict[str, dict[str, np.ndarray]], title: str) -> None:
    """Capacity and each agent's sending rate (top), each agent's frame delay (bottom)."""
    plt = pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    first = next(iter(series.values()))
    top.fill_between(first["t_s"], first["capacity"], step="pre", color="0.85", label="capacity")
    for name, s in series.items():
        top.step(s["t_s"], s["rate"], where="pre", label=name, lw=1)
        bottom.plot(s["t_s"], s["delay"], label=name, lw=1)
    top.set_ylabel("kbps")
    top.legend(ncol=4, fontsize=8)
    top.set_title(title)
    bottom.set_yscale("log")
    bottom.set_ylabel("mean frame delay (ms)")
    bottom.set_xlabel("time (s)")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_all(
    run_dir: Path,
    results: dict[str, list[EpisodeResult]],
    specs: list[Any],
    env_id: str,
    env_kwargs: dict[str, Any],
    timeline_seed: int,
) -> None:
    """Write ``latency_cdf.png``, ``accuracy_vs_bitrate.png`` and ``timeline.png`` into ``run_dir``."""
    import gymnasium as gym

    import artic_rl.envs  # noqa: F401

    plot_latency_cdf(run_dir / "latency_cdf.png", results)
    plot_accuracy_vs_bitrate(run_dir / "accuracy_vs_bitrate.png", results)
    interval_ms = float(env_kwargs.get("interval_ms", 200.0))
    series = {}
    for spec in specs:
        env = gym.make(env_id, **agent_env_kwargs(spec, env_kwargs))
        agent = spec.build(interval_ms, getattr(env.unwrapped, "codec", None))
        series[spec.name] = timeline(env, agent, timeline_seed)
        env.close()
    episodes = next(iter(results.values()), [])
    trace = next((e.trace for e in episodes if e.seed == timeline_seed), "")
    plot_timeline(run_dir / "timeline.png", series, f"trace {trace}, seed {timeline_seed}")

"""Paired evaluation of agents on the same traces, start offsets, seeds and questions.

``python evaluate.py env=lte agents=[gcc,artic,ppo]`` calls :func:`evaluate`; the work is done by
typed functions that tests call directly: :func:`run_evaluation` (parallel over processes, one
progress bar), :func:`summarise` (per-agent metrics and paired-bootstrap 95 % confidence intervals
of each agent's difference from a reference agent), :func:`write_outputs` (CSV, JSON, markdown,
the headline) and :mod:`artic_rl.evaluate_plots`.

Pairing: every agent runs the episodes reset with seeds ``seed + i``; the environment draws the
trace, the start offset, the question schedule, the region predictions and the inference times
from the reset seed, so episode ``i`` is the same situation for every agent, and differences are
bootstrapped over episodes (resampling the same episode indices for both agents).
"""

from __future__ import annotations

import csv
import importlib
import json
import math
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from artic_rl.rollout import EpisodeResult

REPO_CONF = Path(__file__).resolve().parents[1] / "conf"
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
TABLE_COLUMNS: tuple[str, ...] = (
    "accuracy_pct",
    "latency_mean_ms",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "frame_delay_ms",
    "frame_latency_ms",
    "bitrate_kbps",
    "utilisation",
    "stale_share",
    "reward",
)


#: The environment's weighted reward terms (``info["reward_terms"]``), which sum to the reward.
REWARD_TERMS: tuple[str, ...] = ("question", "latency", "sample", "frame_delay", "bits")


@dataclass(frozen=True)
class EvalSettings:
    """The ``evaluate.yaml`` keys that are not the environment or the agents."""

    episodes: int = 20
    seed: int = 1_000_000
    reference: str = "gcc"
    headline: tuple[str, str] = ("artic", "gcc")
    n_jobs: int = 2
    bootstrap: int = 1000
    progress_bar: bool = True
    timeline_episode: int = 0


@dataclass(frozen=True)
class AgentSpec:
    """An agent to evaluate: its name and its ``conf/agent/<name>.yaml`` (``_target_`` + kwargs)."""

    name: str
    target: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def build(self, interval_ms: float) -> Any:
        module, _, cls = self.target.rpartition(".")
        return getattr(importlib.import_module(module), cls)(**self.kwargs, interval_ms=interval_ms)


def load_agent_spec(
    name: str, overrides: dict[str, Any] | None = None, conf_dir: Path = REPO_CONF
) -> AgentSpec:
    """Read ``conf_dir/agent/<name>.yaml`` and apply keyword overrides."""
    from omegaconf import OmegaConf

    path = conf_dir / "agent" / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no agent config named {name!r}")
    cfg = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    assert isinstance(cfg, dict)
    target = str(cfg.pop("_target_"))
    kwargs = {str(k): v for k, v in cfg.items()}
    kwargs.update(overrides or {})
    return AgentSpec(name=name, target=target, kwargs=kwargs)


def _run_chunk(
    spec: AgentSpec, env_id: str, env_kwargs: dict[str, Any], seeds: list[int]
) -> tuple[str, list[EpisodeResult]]:
    """Worker: one agent over some seeds (one env and one agent per process task)."""
    import gymnasium as gym

    import artic_rl.envs  # noqa: F401  (registers the id in the worker)
    from artic_rl.rollout import run_episode

    env = gym.make(env_id, **env_kwargs)
    agent = spec.build(float(env_kwargs.get("interval_ms", 200.0)))
    results = [run_episode(env, agent, s) for s in seeds]
    env.close()
    return spec.name, results


def run_evaluation(
    specs: list[AgentSpec],
    env_id: str,
    env_kwargs: dict[str, Any],
    seeds: list[int],
    n_jobs: int = 1,
    progress_bar: bool = False,
) -> dict[str, list[EpisodeResult]]:
    """Every agent on every seed; results per agent in seed order. ``n_jobs`` > 1 uses processes."""
    chunk = max(1, math.ceil(len(seeds) / max(1, n_jobs)))
    tasks = [(s, seeds[i : i + chunk]) for s in specs for i in range(0, len(seeds), chunk)]
    out: dict[str, list[EpisodeResult]] = {s.name: [] for s in specs}
    from tqdm import tqdm

    bar = tqdm(total=len(specs) * len(seeds), disable=not progress_bar, desc="episodes")
    if n_jobs <= 1:
        for spec, part in tasks:
            name, res = _run_chunk(spec, env_id, env_kwargs, part)
            out[name].extend(res)
            bar.update(len(res))
    else:
        with ProcessPoolExecutor(max_workers=n_jobs) as pool:
            futures = [pool.submit(_run_chunk, s, env_id, env_kwargs, p) for s, p in tasks]
            for fut in as_completed(futures):
                name, res = fut.result()
                out[name].extend(res)
                bar.update(len(res))
    bar.close()
    return {name: sorted(res, key=lambda r: r.seed) for name, res in out.items()}


def flat(episodes: list[EpisodeResult], attr: str) -> np.ndarray:
    """One per-question / per-frame / per-step list of ``EpisodeResult`` over several episodes."""
    return np.asarray([x for e in episodes for x in getattr(e, attr)], dtype=np.float64)


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


def _boot_values(episodes: list[EpisodeResult], metric: str, idx: np.ndarray) -> np.ndarray:
    """``metric`` pooled over each bootstrap row of episode indices ``idx`` (n_boot, n)."""
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


def headline(summary: dict[str, dict[str, Any]], system: str, baseline: str) -> str:
    """The authors' style: accuracy gain and mean-latency reduction of ``system`` over ``baseline``:
    response latency (question to answer, the project's measure) and, where the episodes carry it,
    the paper's own per-frame latency (``frame_latency_ms``)."""
    if system not in summary or baseline not in summary:
        return f"headline: needs both {system!r} and {baseline!r} among the agents"
    s, b = summary[system], summary[baseline]
    ci = s.get(f"vs_{baseline}", {})
    acc = ci.get("accuracy_pct", {})
    lat = ci.get("latency_mean_ms", {})
    rel = 100.0 * (s["accuracy_pct"] / b["accuracy_pct"] - 1.0) if b["accuracy_pct"] else math.nan

    def bracket(d: dict[str, float]) -> str:
        return f" [95% CI {d['ci_low']:+.2f}, {d['ci_high']:+.2f}]" if d else ""

    text = (
        f"{system} vs {baseline}: accuracy {s['accuracy_pct'] - b['accuracy_pct']:+.2f} pp"
        f"{bracket(acc)} ({rel:+.1f}% relative; {b['accuracy_pct']:.2f}% -> {s['accuracy_pct']:.2f}%), "
        f"mean latency {s['latency_mean_ms'] - b['latency_mean_ms']:+.2f} ms{bracket(lat)} "
        f"({b['latency_mean_ms']:.1f} -> {s['latency_mean_ms']:.1f} ms)"
    )
    fs, fb = s.get("frame_latency_ms", math.nan), b.get("frame_latency_ms", math.nan)
    if not (math.isnan(fs) or math.isnan(fb)):
        text += (
            f", frame latency (the paper's metric) {fs - fb:+.2f} ms"
            f"{bracket(ci.get('frame_latency_ms', {}))} ({fb:.1f} -> {fs:.1f} ms)"
        )
    return text


def markdown_table(summary: dict[str, dict[str, Any]], reference: str) -> str:
    """One row per agent; differences from the reference with their CI for accuracy and latency."""
    head = ["agent", *TABLE_COLUMNS, f"Δacc vs {reference} (pp)", f"Δlatency vs {reference} (ms)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in summary.items():
        cells = [name] + [_fmt(row[c]) for c in TABLE_COLUMNS]
        vs = row.get(f"vs_{reference}")
        for m in ("accuracy_pct", "latency_mean_ms"):
            if vs is None:
                cells.append("—")
            else:
                d = vs[m]
                cells.append(f"{d['diff']:+.2f} [{d['ci_low']:+.2f}, {d['ci_high']:+.2f}]")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def reward_terms_table(summary: dict[str, dict[str, Any]]) -> str:
    """Where each agent's reward comes from: the mean per episode of each weighted term."""
    head = ["agent", *(f"{t}" for t in REWARD_TERMS), "reward"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in summary.items():
        cells = [name] + [_fmt(row.get(f"reward_{t}", math.nan)) for t in REWARD_TERMS]
        lines.append("| " + " | ".join([*cells, _fmt(row["reward"])]) + " |")
    return "\n".join(lines) + "\n"


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


def per_trace_table(table: dict[str, dict[str, dict[str, float]]]) -> str:
    """Agents as rows, traces as columns: ``reward (accuracy %, latency ms)``."""
    traces = sorted({t for rows in table.values() for t in rows})
    counts = {t: next(int(r[t]["episodes"]) for r in table.values() if t in r) for t in traces}
    head = ["agent", *(f"{t} (n={counts[t]})" for t in traces)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, rows in table.items():
        cells = [name]
        for t in traces:
            r = rows.get(t)
            cells.append(
                "—"
                if r is None
                else f"{_fmt(r['reward'])} ({r['accuracy_pct']:.1f}%, {r['latency_mean_ms']:.0f} ms)"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _fmt(x: float) -> str:
    if isinstance(x, float) and math.isnan(x):
        return "—"
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"


def write_outputs(
    run_dir: Path,
    results: dict[str, list[EpisodeResult]],
    summary: dict[str, dict[str, Any]],
    reference: str,
    headline_text: str,
) -> None:
    """``episodes.csv``, ``episodes.json``, ``summary.json``, ``summary.md``, ``headline.txt``,
    ``per_trace.json`` and ``per_trace.md``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    rows = [{"agent": n, **e.summary()} for n, eps in results.items() for e in eps]
    if rows:
        with (run_dir / "episodes.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    full = {n: [e.to_dict() for e in eps] for n, eps in results.items()}
    (run_dir / "episodes.json").write_text(json.dumps(full))
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    table = markdown_table(summary, reference)
    terms = "Reward terms, mean per episode:\n\n" + reward_terms_table(summary)
    (run_dir / "summary.md").write_text(table + "\n" + terms + "\n" + headline_text + "\n")
    (run_dir / "headline.txt").write_text(headline_text + "\n")
    traces = per_trace(results)
    (run_dir / "per_trace.json").write_text(json.dumps(traces, indent=2))
    (run_dir / "per_trace.md").write_text(
        "Per trace: reward (accuracy %, mean latency ms)\n\n" + per_trace_table(traces)
    )


def evaluate(cfg: Any, run_dir: Path | None = None) -> dict[str, dict[str, Any]]:
    """Entry point of ``evaluate.py``: unpack the composed config, run, summarise, write, plot."""
    from omegaconf import OmegaConf

    from artic_rl.evaluate_plots import plot_all

    if run_dir is None:
        from hydra.core.hydra_config import HydraConfig

        run_dir = Path(HydraConfig.get().runtime.output_dir)
    config = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(config, dict)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    ev = dict(config["eval"])
    ev["headline"] = tuple(ev["headline"])
    settings = EvalSettings(**ev)
    overrides = config.get("agent_kwargs") or {}
    specs = [load_agent_spec(str(n), overrides.get(str(n))) for n in config["agents"]]
    env_id = str(config["env"]["id"])
    env_kwargs = dict(config["env"]["kwargs"])
    seeds = [settings.seed + i for i in range(settings.episodes)]
    results = run_evaluation(
        specs, env_id, env_kwargs, seeds, settings.n_jobs, settings.progress_bar
    )
    summary = summarise(results, settings.reference, settings.bootstrap, settings.seed)
    text = headline(summary, *settings.headline)
    write_outputs(run_dir, results, summary, settings.reference, text)
    plot_all(run_dir, results, specs, env_id, env_kwargs, seeds[settings.timeline_episode])
    print(markdown_table(summary, settings.reference))
    print(reward_terms_table(summary))
    print(text)
    return summary

"""Paired evaluation of agents on the same traces, start offsets, seeds and questions.

``python evaluate.py env=lte agents=[gcc,artic,ppo]`` calls :func:`evaluate`; the work is done by
typed functions that tests call directly: :func:`run_evaluation` (parallel over processes, one
progress bar), :func:`artic_rl.evaluation.paired.summarise` (per-agent metrics and paired-bootstrap
95 % confidence intervals of each agent's difference from a reference agent),
:func:`artic_rl.evaluation.report.write_outputs` (CSV, JSON, markdown, the headline) and
:mod:`artic_rl.evaluation.plots`. :func:`evaluate_policy` is the same loop for one agent on a few
validation episodes (training's periodic evaluation).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from artic_rl.agents.base import Agent
from artic_rl.agents.registry import AgentSpec, agent_spec
from artic_rl.errors import ArticError, ConfigError, check
from artic_rl.evaluation.paired import summarise
from artic_rl.evaluation.report import (
    headline,
    latency_breakdown_table,
    markdown_table,
    pareto_check,
    reward_terms_table,
    write_outputs,
)
from artic_rl.evaluation.rollout import EpisodeResult, agent_env_kwargs, env_codec, run_episode
from artic_rl.sender.actions import ActionCodec

#: Evaluation episodes use seeds ``EVAL_SEED_BASE + i``, disjoint from training's seeds.
EVAL_SEED_BASE = 1_000_000
#: Metrics :func:`evaluate_policy` reports (means over episodes).
POLICY_METRICS: tuple[str, ...] = (
    "reward",
    "accuracy_pct",
    "latency_mean_ms",
    "latency_p95_ms",
    "frame_delay_ms",
    "bitrate_kbps",
    "stale_share",
)


@dataclass
class EvalSettings:
    """The ``eval:`` block of ``conf/evaluate.yaml``: defaults, types and ranges."""

    episodes: int = 20  # episodes per agent; episode i has seed + i for every agent (paired)
    seed: int = EVAL_SEED_BASE  # first evaluation seed (disjoint from training seeds)
    reference: str = "gcc"  # the agent the others are compared with (paired-bootstrap 95% CIs)
    headline: list[str] = field(default_factory=lambda: ["artic", "gcc"])  # [system, baseline]
    n_jobs: int = 2  # worker processes (one agent x a chunk of seeds per task)
    bootstrap: int = 1000  # bootstrap resamples of the episodes
    progress_bar: bool = True  # tqdm progress bar on the console
    timeline_episode: int = 0  # which episode the timeline plot replays

    def __post_init__(self) -> None:
        check(self.episodes >= 1, "eval.episodes", "must be >= 1")
        check(self.n_jobs >= 1, "eval.n_jobs", "must be >= 1")
        check(self.bootstrap >= 1, "eval.bootstrap", "must be >= 1")
        check(len(self.headline) == 2, "eval.headline", "must be [system, baseline]")
        check(
            0 <= self.timeline_episode < self.episodes,
            "eval.timeline_episode",
            f"must be in [0, eval.episodes) = [0, {self.episodes})",
        )

    def check_agents(self, agents: list[str]) -> None:
        """The reference must be one of the agents evaluated."""
        check(
            self.reference in agents,
            "eval.reference",
            f"{self.reference!r} is not among agents={agents}",
        )


def _run_chunk(
    spec: AgentSpec, env_id: str, env_kwargs: dict[str, Any], seeds: list[int]
) -> tuple[str, list[EpisodeResult]]:
    """Worker: one agent over some seeds (one env and one agent per process task)."""
    import gymnasium as gym

    import artic_rl.envs  # noqa: F401  (registers the id in the worker)

    env = gym.make(env_id, **agent_env_kwargs(spec, env_kwargs))
    agent = spec.build(
        float(env_kwargs.get("interval_ms", 200.0)), getattr(env.unwrapped, "codec", None)
    )
    # in this process too (n_jobs=1) a learned policy steps on one thread, as in the workers: on
    # busy cores torch's own threads made an LSTM policy's episodes 3-5 times slower
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch is not None else 0
    try:
        if torch is not None:
            torch.set_num_threads(1)
        results = [run_episode(env, agent, s) for s in seeds]
    finally:
        if torch is not None:
            torch.set_num_threads(threads)
        env.close()
    return spec.name, results


def _one_thread() -> None:
    """A worker's start: its episodes run on one thread, since the parallelism is across episodes.
    A learned policy's torch, imported later, would otherwise spread each one-observation step
    over every core, once per worker (about 9 times slower for an LSTM policy on 2 busy cores)."""
    os.environ["OMP_NUM_THREADS"] = "1"


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
        # forkserver: workers start from a clean process, not a fork of this threaded one (a
        # fork taken while another thread holds a lock can leave the pool waiting for ever)
        ctx = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(n_jobs, ctx, initializer=_one_thread) as pool:
            futures = [pool.submit(_run_chunk, s, env_id, env_kwargs, p) for s, p in tasks]
            for fut in as_completed(futures):
                name, res = fut.result()
                out[name].extend(res)
                bar.update(len(res))
    bar.close()
    return {name: sorted(res, key=lambda r: r.seed) for name, res in out.items()}


def evaluate_policy(
    env_id: str,
    env_kwargs: dict[str, Any],
    agent: Agent,
    episodes: int,
    split: str = "val",
) -> dict[str, float]:
    """Mean per-episode metrics of one agent on ``split`` (seeds ``EVAL_SEED_BASE + i``).

    Training watches the validation split, so the test split stays unseen until ``evaluate.py``.
    """
    import gymnasium as gym

    import artic_rl.envs  # noqa: F401

    env = gym.make(env_id, **{**env_kwargs, "split": split})
    rows = [run_episode(env, agent, EVAL_SEED_BASE + i).summary() for i in range(episodes)]
    env.close()
    return {k: float(np.nanmean([row[k] for row in rows])) for k in POLICY_METRICS}


#: The environment arguments that name trace folders, and the config key that sets each.
TRACE_FOLDER_KEYS = {"traces_dir": "traces.dir", "extra_traces_dir": "traces.extra"}


def trace_folders(value: Any, key: str) -> list[str]:
    """``traces.dir`` or ``traces.extra`` as a list of folders: null (none), one folder, or a
    list of folders; ConfigError naming ``key`` for anything else or an empty list."""
    if value is None:
        return []
    if isinstance(value, str):
        check(bool(value.strip()), key, "an empty folder name (null: none)")
        return [value]
    ok = isinstance(value, list | tuple) and all(isinstance(v, str) and v for v in value)
    check(ok, key, f"must be a folder or a list of folders, got {value!r}")
    check(bool(value), key, "an empty list of folders (null: none)")
    return [str(v) for v in value]


def _trace_key(err: ArticError, env_kwargs: dict[str, Any]) -> str | None:
    """The config key of the trace folder a loader's error names (its message starts with it)."""
    for kwarg, key in TRACE_FOLDER_KEYS.items():
        value = env_kwargs.get(kwarg)
        folders = [value] if isinstance(value, str) else list(value or [])
        if any(str(err).startswith(str(Path(f))) for f in folders):
            return key
    return None


def check_env(env_id: str, env_kwargs: dict[str, Any], key: str = "env.kwargs") -> None:
    """Build the environment once, so that a bad simulator setting, a missing or malformed traces
    folder or an unknown model fails in one line before any work."""
    import gymnasium as gym

    import artic_rl.envs  # noqa: F401

    try:
        env = gym.make(env_id, **env_kwargs)
    except ArticError as err:  # a loader's error names the file (and line)
        raise ConfigError(_trace_key(err, env_kwargs) or key, str(err)) from None
    except gym.error.Error as err:
        raise ConfigError("env.id", str(err)) from None
    except TypeError as err:  # an argument VideoChatEnv does not take
        text = str(err).replace("VideoChatEnv.__init__() ", "").split(" was raised from")[0]
        raise ConfigError(key, text) from None
    except (ValueError, OSError, KeyError) as err:
        raise ConfigError(key, str(err).strip("'\"")) from None
    env.close()


def checked_codec(env_kwargs: dict[str, Any]) -> ActionCodec:
    """The environment's action codec (:func:`~artic_rl.evaluation.rollout.env_codec`);
    ConfigError naming ``env.kwargs.max_rate_kbps`` when the ceiling is not a number >= 4000."""
    try:
        return env_codec(env_kwargs)
    except ValueError as err:
        message = str(err).removeprefix("max_rate_kbps ")
        raise ConfigError("env.kwargs.max_rate_kbps", message) from None


def validate_evaluate(cfg: Any) -> None:
    """Everything ``evaluate.py`` can check before any work (raises ConfigError naming the key)."""
    from omegaconf import OmegaConf

    settings: EvalSettings = OmegaConf.to_object(cfg.eval)  # type: ignore[assignment]
    names = [str(n) for n in cfg.agents]
    check(bool(names), "agents", "name at least one agent, e.g. agents=[gcc,artic]")
    check(len(set(names)) == len(names), "agents", f"{names} names an agent twice")
    try:
        specs = [agent_spec(n) for n in names]
    except ValueError as err:
        raise ConfigError("agents", str(err)) from None
    settings.check_agents([s.name for s in specs])
    overrides = OmegaConf.to_container(cfg.agent_kwargs, resolve=True) or {}
    assert isinstance(overrides, dict)
    for name in map(str, overrides):
        check(name in names, f"agent_kwargs.{name}", f"{name!r} is not among agents={names}")
    env = OmegaConf.to_container(cfg.env, resolve=True)
    assert isinstance(env, dict)
    interval_ms = float(env["kwargs"].get("interval_ms", 200.0))
    codec = checked_codec(env["kwargs"])
    for name in names:
        try:
            agent_spec(name, overrides.get(name)).build(interval_ms, codec)
        except ArticError:
            raise
        except (ValueError, TypeError, OSError) as err:
            raise ConfigError(
                "agents" if name not in overrides else f"agent_kwargs.{name}", str(err)
            ) from None
        except Exception as err:  # a policy file that does not load (e.g. not a zip)
            raise ConfigError(
                f"agent {name}", f"cannot load: {type(err).__name__}: {err}"
            ) from None
    traces = OmegaConf.to_container(cfg.traces, resolve=True)
    assert isinstance(traces, dict)
    trace_folders(traces.get("dir"), "traces.dir")
    check_env(str(env["id"]), dict(env["kwargs"]))


def evaluate(cfg: Any, run_dir: Path | None = None) -> dict[str, dict[str, Any]]:
    """Entry point of ``evaluate.py``: unpack the composed config, run, summarise, write, plot.

    Runs inside hydra (the agents are composed from the ``agent`` group)."""
    from omegaconf import OmegaConf

    from artic_rl.evaluation.plots import plot_all

    if run_dir is None:
        from hydra.core.hydra_config import HydraConfig

        run_dir = Path(HydraConfig.get().runtime.output_dir)
    settings: EvalSettings = OmegaConf.to_object(cfg.eval)  # type: ignore[assignment]
    names = [str(n) for n in cfg.agents]
    settings.check_agents(names)
    overrides = OmegaConf.to_container(cfg.agent_kwargs, resolve=True) or {}
    assert isinstance(overrides, dict)
    specs = [agent_spec(n, overrides.get(n)) for n in names]
    env = OmegaConf.to_container(cfg.env, resolve=True)
    assert isinstance(env, dict)
    env_id, env_kwargs = str(env["id"]), dict(env["kwargs"])
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    seeds = [settings.seed + i for i in range(settings.episodes)]
    results = run_evaluation(
        specs, env_id, env_kwargs, seeds, settings.n_jobs, settings.progress_bar
    )
    summary = summarise(results, settings.reference, settings.bootstrap, settings.seed)
    for spec in specs:
        summary[spec.name]["receiver"] = agent_env_kwargs(spec, env_kwargs).get("receiver", "artic")
    text = headline(summary, *settings.headline)
    write_outputs(run_dir, results, summary, settings.reference, text)
    plot_all(run_dir, results, specs, env_id, env_kwargs, seeds[settings.timeline_episode])
    print(markdown_table(summary, settings.reference))
    print(reward_terms_table(summary))
    print(latency_breakdown_table(summary))
    print(pareto_check(summary))
    print(text)
    print(f"results: {run_dir}")
    return summary

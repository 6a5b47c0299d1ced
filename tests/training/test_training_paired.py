"""The paired reference: the same episode for learner and reference, the reward as their
difference, and the constraint on the latency gap."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import artic_rl.envs  # noqa: F401
from artic_rl.agents.registry import AgentSpec, agent_spec
from artic_rl.agents.residual import ResidualEnv, ResidualSpec
from artic_rl.envs import ENV_ID
from artic_rl.training.callbacks import LatencyConstraint
from artic_rl.training.paired import REFERENCE_LATENCY_KEY, PairedReference
from artic_rl.training.train import make_env_fn

ROOT = Path(__file__).resolve().parents[2]
KWARGS: dict[str, Any] = {
    "traces_root": str(ROOT / "traces"),
    "preset": "lte",
    "episode_s": 20.0,
    "reward": {"expected_questions": True, "latency_per_s": 1.0},
}


@pytest.fixture
def artic(hydra_conf: Path) -> AgentSpec:
    return agent_spec("artic")


def _paired(artic: AgentSpec, seed: int) -> gym.Env[Any, Any]:
    residual = ResidualSpec(artic.name, artic.config, 4)
    return make_env_fn(ENV_ID, KWARGS, seed, residual, artic)()


def _episode(env: gym.Env[Any, Any], action: Any) -> tuple[list[float], list[float], list[float]]:
    """Paired rewards, the learner's and the reference's latencies of one episode."""
    env.reset()
    rewards, mine, ref = [], [], []
    done = False
    while not done:
        _, reward, terminated, truncated, info = env.step(np.asarray(action(env)))
        rewards.append(reward)
        mine += info["probe_latency_ms"]
        ref += info[REFERENCE_LATENCY_KEY]
        done = terminated or truncated
    return rewards, mine, ref


def _neutral(env: gym.Env[Any, Any]) -> tuple[int, int]:
    return env.get_wrapper_attr("residual").neutral()


def test_the_reference_itself_earns_exactly_nothing_over_the_reference(artic: AgentSpec) -> None:
    env = _paired(artic, seed=3)
    for _ in range(2):  # two episodes: the second reset draws a new episode for both
        rewards, mine, ref = _episode(env, _neutral)
        assert mine and mine == ref
        assert all(r == 0.0 for r in rewards)
    env.close()


def test_another_policy_is_paid_its_difference_on_the_same_episode(artic: AgentSpec) -> None:
    env = _paired(artic, seed=3)
    rewards, mine, ref = _episode(env, lambda e: (8, _neutral(e)[1]))  # 4 tiers above artic
    assert any(r != 0.0 for r in rewards) and mine != ref
    assert len(mine) == len(ref)  # the same probes, asked at the same times
    env.close()


def test_the_pair_meets_the_same_trace_and_each_reset_a_new_one(artic: AgentSpec) -> None:
    env = _paired(artic, seed=5)
    paired: Any = env
    seeds, traces = [], []
    for _ in range(3):
        _, info = env.reset()
        seeds.append(paired.episode_seed)
        traces.append((info["trace"], info["start_ms"]))
        assert paired.shadow.unwrapped._timeline is not None
    assert len(set(seeds)) == 3
    again = _paired(artic, seed=5)  # the vector env's seed decides the episodes
    again_seeds = []
    for _ in range(3):
        again.reset()
        again_seeds.append(again.get_wrapper_attr("episode_seed"))
    assert again_seeds == seeds
    env.close()
    again.close()


def test_the_latency_price_reaches_both_environments(artic: AgentSpec) -> None:
    env = _paired(artic, seed=0)
    env.get_wrapper_attr("set_latency_price")(2.5)
    paired: Any = env
    assert env.unwrapped.weights.latency_per_s == 2.5  # type: ignore[attr-defined]
    assert paired.shadow.unwrapped.weights.latency_per_s == 2.5
    env.close()


def test_the_paired_constraint_steps_on_the_gap_to_the_reference(tmp_path: Path) -> None:
    cb = LatencyConstraint(target_ms=0.0, lr=0.5, init=1.0, run_dir=tmp_path, paired=True)
    prices: list[float] = []
    envs = SimpleNamespace(env_method=lambda name, value: prices.append(value))
    logger = SimpleNamespace(record=lambda key, value: None)
    cb.model = SimpleNamespace(logger=logger, get_env=lambda: envs)  # type: ignore[assignment]
    cb.num_timesteps = 1024
    cb._on_rollout_start()
    # a slow rollout for both (an outage): 2,000 ms against the reference's 1,800 ms
    cb.locals = {"infos": [{"probe_latency_ms": [2000.0], REFERENCE_LATENCY_KEY: [1800.0]}]}
    cb._on_step()
    cb._on_rollout_end()
    assert cb.lam == pytest.approx(1.0 + 0.5 * 0.2)
    cb._on_rollout_start()
    cb.locals = {"infos": [{"probe_latency_ms": [300.0], REFERENCE_LATENCY_KEY: [400.0]}]}
    cb._on_step()
    cb._on_rollout_end()
    assert cb.lam == pytest.approx(1.1 - 0.5 * 0.1)


def test_a_wrapper_without_a_reset_refuses_to_step(artic: AgentSpec) -> None:
    base = gym.make(ENV_ID, **KWARGS)
    env = PairedReference(
        ResidualEnv(base, ResidualSpec("artic", artic.config)),
        gym.make(ENV_ID, **KWARGS),
        artic.build(200.0),
    )
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.array([4, 0]))


def test_the_accuracy_constraint_makes_accuracy_dearer_below_the_margin(tmp_path: Path) -> None:
    from artic_rl.training.callbacks import AccuracyConstraint
    from artic_rl.training.paired import REFERENCE_ACCURACY_KEY

    cb = AccuracyConstraint(target_ms=0.5, lr=0.2, init=1.0, run_dir=tmp_path)
    prices: list[float] = []
    envs = SimpleNamespace(env_method=lambda name, value: prices.append(value))
    logger = SimpleNamespace(record=lambda key, value: None)
    cb.model = SimpleNamespace(logger=logger, get_env=lambda: envs)  # type: ignore[assignment]
    cb.num_timesteps = 1024

    def rollout(mine: float, ref: float) -> None:
        cb._on_rollout_start()
        cb.locals = {"infos": [{"probe_accuracy": [mine], REFERENCE_ACCURACY_KEY: [ref]}]}
        cb._on_step()
        cb._on_rollout_end()

    rollout(0.80, 0.82)  # 2 points under the reference: 2.5 under the margin
    assert cb.lam == pytest.approx(1.0 + 0.2 * 2.5 / 10)
    assert prices[-1] == pytest.approx(1.0 / cb.lam)  # latency cheaper against accuracy
    rollout(0.90, 0.82)  # 8 points over: 7.5 over the margin
    assert cb.lam == pytest.approx(1.05 - 0.2 * 7.5 / 10)
    for _ in range(20):
        rollout(1.0, 0.0)
    assert cb.lam == AccuracyConstraint.MU_MIN and prices[-1] == pytest.approx(10.0)
    assert json.loads((tmp_path / "lagrange.json").read_text())["multiplier"] == cb.lam


def test_the_accuracy_constraint_needs_the_paired_reference() -> None:
    from artic_rl.errors import ConfigError
    from artic_rl.training.train import TrainSettings

    with pytest.raises(ConfigError, match="train.constrain"):
        TrainSettings(constrain="accuracy")
    with pytest.raises(ConfigError, match="train.constrain"):
        TrainSettings(constrain="throughput", paired=True)
    assert TrainSettings(constrain="accuracy", paired=True).accuracy_margin_pts == 0.0


def test_the_dominance_constraints_price_latency_by_both_gaps(tmp_path: Path) -> None:
    from artic_rl.training.callbacks import DominanceConstraints
    from artic_rl.training.paired import REFERENCE_ACCURACY_KEY

    cb = DominanceConstraints(
        margin_pts=0.5, margin_ms=0.0, lr=0.2, base_price=1.0, run_dir=tmp_path
    )
    prices: list[float] = []
    envs = SimpleNamespace(env_method=lambda name, value: prices.append(value))
    logger = SimpleNamespace(record=lambda key, value: None)
    cb.model = SimpleNamespace(logger=logger, get_env=lambda: envs)  # type: ignore[assignment]
    cb.num_timesteps = 1024

    def rollout(acc: float, ref_acc: float, lat: float, ref_lat: float) -> None:
        cb._on_rollout_start()
        cb.locals = {
            "infos": [
                {
                    "probe_accuracy": [acc],
                    REFERENCE_ACCURACY_KEY: [ref_acc],
                    "probe_latency_ms": [lat],
                    REFERENCE_LATENCY_KEY: [ref_lat],
                }
            ]
        }
        cb._on_step()
        cb._on_rollout_end()

    rollout(0.80, 0.82, 300.0, 400.0)  # less accurate, faster: latency gets cheaper
    assert (cb.mu, cb.lam) == pytest.approx((0.2 * 2.5 / 10, 0.0))
    assert prices[-1] == pytest.approx(1.0 / 1.05) and prices[-1] == cb.price
    rollout(0.90, 0.82, 900.0, 400.0)  # more accurate, 500 ms slower: latency gets dearer
    assert (cb.mu, cb.lam) == pytest.approx((0.0, 0.2 * 0.5))
    assert prices[-1] == pytest.approx(1.1)
    for _ in range(20):  # both held: the multipliers fall back to the objective's own price
        rollout(0.90, 0.82, 300.0, 400.0)
    assert (cb.mu, cb.lam, prices[-1]) == (0.0, 0.0, 1.0)
    doc = json.loads((tmp_path / "lagrange.json").read_text())
    assert (doc["accuracy_multiplier"], doc["latency_multiplier"]) == (0.0, 0.0)
    resumed = DominanceConstraints(0.5, 0.0, 0.2, 1.0, tmp_path)
    rollout(0.70, 0.82, 300.0, 400.0)
    resumed.model = cb.model  # type: ignore[assignment]
    resumed._on_training_start()
    assert resumed.mu == cb.mu > 0.0 and prices[-1] == pytest.approx(cb.price)


def test_the_dominance_constraints_need_the_paired_reference() -> None:
    from artic_rl.errors import ConfigError
    from artic_rl.training.train import TrainSettings

    with pytest.raises(ConfigError, match="both is measured against the paired reference"):
        TrainSettings(constrain="both")
    assert TrainSettings(constrain="both", paired=True).latency_margin_ms == 0.0


def test_a_margin_is_refused_where_its_constraint_is_not_held() -> None:
    from artic_rl.errors import ConfigError
    from artic_rl.training.train import TrainSettings

    with pytest.raises(ConfigError, match="latency_margin_ms.*constrain=latency or both"):
        TrainSettings(constrain="accuracy", paired=True, latency_margin_ms=-30.0)
    with pytest.raises(ConfigError, match="accuracy_margin_pts.*constrain=accuracy or both"):
        TrainSettings(accuracy_margin_pts=1.0)
    assert TrainSettings(latency_margin_ms=-30.0).latency_margin_ms == -30.0
    assert TrainSettings(constrain="both", paired=True, latency_margin_ms=-30.0)


def test_the_curriculum_weighs_traces_by_how_far_the_learner_trails() -> None:
    from artic_rl.training.paired import TraceCurriculum

    cur = TraceCurriculum(4, share=0.5)
    assert cur.weights() == pytest.approx([0.25] * 4)  # nothing met: uniform
    cur.record(0, -3.0)  # trails by 3 on trace 0
    cur.record(1, +2.0)  # ahead on trace 1
    cur.record(2, -1.0)
    cur.record(2, -0.0)  # trails by 0.5 on average on trace 2
    # trace 3 not met yet: counted as the largest deficit (3), so it is tried
    w = cur.weights()
    assert w == pytest.approx(0.5 * np.array([3.0, 0.0, 0.5, 3.0]) / 6.5 + 0.125)
    assert w.sum() == pytest.approx(1.0) and w.min() >= 0.125  # no trace dropped
    cur.record(3, 5.0)
    cur.record(0, 10.0)
    cur.record(2, 4.0)  # ahead everywhere: uniform again
    assert cur.weights() == pytest.approx([0.25] * 4)
    again = TraceCurriculum.from_state(json.loads(json.dumps(cur.state())))
    assert again.weights() == pytest.approx(cur.weights()) and again.share == 0.5
    with pytest.raises(ValueError, match="share"):
        TraceCurriculum(4, share=1.5)


def test_the_curriculum_keeps_the_environments_own_share_of_extra_traces() -> None:
    from artic_rl.training.paired import TraceCurriculum

    base = np.array([0.1, 0.1, 0.4, 0.4])  # extra_share 0.8 over the last two traces
    cur = TraceCurriculum(4, share=0.5, base=base)
    assert cur.weights() == pytest.approx(base)  # nothing trailed: the environment's own draw
    for k in range(4):
        cur.record(k, -1.0 if k == 0 else 1.0)
    assert cur.weights() == pytest.approx(0.5 * np.array([1.0, 0, 0, 0]) + 0.5 * base)
    again = TraceCurriculum.from_state(json.loads(json.dumps(cur.state())), base)
    assert again.weights() == pytest.approx(cur.weights())
    with pytest.raises(ValueError, match="base: 3 weights for 4 traces"):
        TraceCurriculum(4, base=base[:3])


def test_the_pair_reports_the_traces_names_and_the_environments_weights(
    artic: AgentSpec, tmp_path: Path
) -> None:
    extra = tmp_path / "real"
    extra.mkdir()
    (extra / "r.up").write_text("".join(f"{t}\n" for t in range(1, 3000)))
    kwargs = {**KWARGS, "extra_traces_dir": [str(extra)], "extra_share": 0.5}
    env: Any = make_env_fn(ENV_ID, kwargs, 0, None, artic)()
    names = env.trace_names()
    assert len(names) == env.n_traces() == 201 and names[-1] == "r"
    weights = env.base_trace_weights()
    assert weights[-1] == pytest.approx(0.5) and weights.sum() == pytest.approx(1.0)
    assert _paired(artic, seed=0).base_trace_weights() is None  # no extra_share: uniform
    env.close()


def test_the_curriculum_draws_the_same_trace_for_both_and_reports_the_episode(
    artic: AgentSpec,
) -> None:
    from artic_rl.training.paired import EPISODE_KEY

    env: Any = _paired(artic, seed=3)
    n = env.n_traces()
    weights = np.zeros(n)
    weights[n - 1] = 1.0  # every draw: the last trace
    env.set_trace_weights(weights)
    for _ in range(2):
        _, info = env.reset()
        assert env.trace_index == n - 1
        assert env.shadow.unwrapped.trace_index == n - 1
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, info = env.step(np.asarray(_neutral(env)))
            total += reward
            done = terminated or truncated
            assert (EPISODE_KEY in info) == done
        assert info[EPISODE_KEY] == (n - 1, pytest.approx(total))
    env.set_trace_weights(None)  # back to the environment's own draw
    env.reset()
    assert env.trace_weights is None
    env.close()


def test_the_curriculum_needs_the_paired_reference() -> None:
    from artic_rl.errors import ConfigError
    from artic_rl.training.train import TrainSettings

    with pytest.raises(ConfigError, match="train.curriculum"):
        TrainSettings(curriculum=True)
    with pytest.raises(ConfigError, match="train.curriculum_share"):
        TrainSettings(curriculum=True, paired=True, curriculum_share=2.0)


def test_resuming_from_another_set_ups_state_is_one_clear_error(tmp_path: Path) -> None:
    from artic_rl.errors import InputError
    from artic_rl.training.callbacks import Curriculum, DominanceConstraints

    answers = {"n_traces": 3, "trace_names": ["x", "y", "z"], "base_trace_weights": None}
    envs = SimpleNamespace(env_method=lambda name, *args: [answers.get(name)])
    model = SimpleNamespace(logger=None, get_env=lambda: envs)
    # a latency-constraint run's lagrange.json, resumed with train.constrain=both
    (tmp_path / "lagrange.json").write_text(json.dumps({"target_ms": 0.0, "multiplier": 1.2}))
    cb = DominanceConstraints(0.5, 0.0, 0.2, 1.0, tmp_path)
    cb.model = model  # type: ignore[assignment]
    with pytest.raises(InputError, match=r"lagrange.json \(field 'accuracy_multiplier'\)"):
        cb._on_training_start()
    # a curriculum recorded over 4 traces, resumed on 3
    (tmp_path / "curriculum.json").write_text(
        json.dumps({"share": 0.5, "sums": [0.0] * 4, "counts": [0] * 4})
    )
    cur = Curriculum(0.5, tmp_path)
    cur.model = model  # type: ignore[assignment]
    with pytest.raises(InputError, match="records 4 traces, the training environments draw from 3"):
        cur._on_training_start()
    # a curriculum over 3 other traces (another traces.extra, say)
    (tmp_path / "curriculum.json").write_text(
        json.dumps({"share": 0.5, "sums": [0.0] * 3, "counts": [0] * 3, "traces": ["x", "z", "y"]})
    )
    with pytest.raises(
        InputError, match=r"\(field 'traces'\): cannot resume from it: it records other traces"
    ):
        cur._on_training_start()
    (tmp_path / "curriculum.json").write_text("{not json")
    with pytest.raises(InputError, match="curriculum.json: cannot resume from it"):
        cur._on_training_start()

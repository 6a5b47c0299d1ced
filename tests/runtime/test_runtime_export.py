"""ONNX export: parity with SB3 on 10,000 observations, metadata, loud failure, the ONNX agent."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from artic_rl.runtime.export import (
    ExportError,
    build_graph,
    check_parity,
    export_policy,
    load_obs_norm,
    parity_observations,
    read_metadata,
)
from artic_rl.runtime.policy import OnnxPolicy
from artic_rl.sender.actions import ActionCodec
from artic_rl.sender.observation import FEATURE_NAMES, OBS_DIM, observation_space


class _SpacesOnly(gym.Env[np.ndarray, np.ndarray]):
    """An env with the real spaces and random observations (export needs only the spaces)."""

    def __init__(self) -> None:
        self.observation_space = observation_space()
        self.action_space = ActionCodec().space()

    def reset(self, *, seed: int | None = None, options: dict | None = None):  # type: ignore[override]
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):  # type: ignore[override]
        return self.observation_space.sample(), 0.0, False, False, {}


@pytest.fixture(scope="module")
def tiny_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small SB3 PPO (random weights, 2 x 64 units) and a VecNormalize fitted on random data."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    run = tmp_path_factory.mktemp("run")
    venv = VecNormalize(DummyVecEnv([_SpacesOnly]), clip_obs=5.0)
    rng = np.random.default_rng(0)
    venv.obs_rms.update(rng.normal(0.5, 0.3, size=(2000, OBS_DIM)))
    model = PPO(
        "MlpPolicy", venv, n_steps=64, policy_kwargs={"net_arch": [64, 64]}, seed=0, device="cpu"
    )
    with (
        torch.no_grad()
    ):  # SB3 initialises the head with gain 0.01: make it as decisive as a trained one
        model.policy.action_net.weight.mul_(300.0)
    model.save(run / "model.zip")
    venv.save(str(run / "vecnormalize.pkl"))
    return run


def test_export_parity_metadata_and_size(tiny_policy: Path, tmp_path: Path) -> None:
    out = tmp_path / "policy.onnx"
    result = export_policy(tiny_policy, out, preset="lte", parity_n=10_000, bench_runs=300)
    assert result.parity["observations"] == 10_000 and result.parity["mismatched"] == 0
    assert result.parity["identical"] + result.parity["ties"] >= 10_000
    assert result.parity["max_logit_diff"] < 1e-5
    assert out.stat().st_size == result.size_bytes < 1 << 20
    meta = read_metadata(out)
    assert meta["observation"]["names"] == list(FEATURE_NAMES)
    assert meta["action"]["nvec"] == [20, 4, 6] and meta["action"]["fps_choices"][-1] == 30.0
    assert meta["preset"] == "lte" and meta["parity"]["mismatched"] == 0
    assert meta["normalisation"]["clip_obs"] == 5.0
    assert result.latency["p50_us"] > 0


def test_onnx_agent_matches_sb3_predict(tiny_policy: Path, tmp_path: Path) -> None:
    from stable_baselines3 import PPO

    out = tmp_path / "p.onnx"
    export_policy(tiny_policy, out, parity_n=1000, bench_runs=0)
    agent = OnnxPolicy(out)
    model = PPO.load(tiny_policy / "model.zip", device="cpu")
    norm = load_obs_norm(tiny_policy)
    obs = parity_observations(norm, 200, np.random.default_rng(5))
    expected, _ = model.predict(norm.apply(obs), deterministic=True)
    got, _ = agent.predict(obs)
    assert np.array_equal(got, expected)
    assert np.array_equal(agent.act(obs[0]), expected[0])


def test_parity_failure_is_loud(tiny_policy: Path) -> None:
    from stable_baselines3 import PPO

    model = PPO.load(tiny_policy / "model.zip", device="cpu")
    norm = load_obs_norm(tiny_policy)
    wrong = type(norm)(norm.mean + 0.5, norm.var, norm.clip_obs, norm.epsilon)  # stale statistics
    data = build_graph(model, wrong, (20, 4, 6), {}).SerializeToString()
    obs = parity_observations(norm, 2000, np.random.default_rng(1))
    with pytest.raises(ExportError, match="does not reproduce"):
        check_parity(model, norm, data, obs)


def test_missing_policy_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="model.zip"):
        export_policy(tmp_path, tmp_path / "x.onnx")


def test_a_residual_policy_exports_and_composes_like_the_learned_agent(tmp_path: Path) -> None:
    """The graph outputs the residual action; the ONNX agent and PPOAgent compose it with the
    same base agent on the same feedback."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    import artic_rl.envs  # noqa: F401
    from artic_rl.agents.ppo import PPOAgent
    from artic_rl.agents.residual import ResidualSpec

    spec = ResidualSpec("artic", {"_target_": "artic_rl.agents.artic.ArticAgent"}, 4)

    class _Residual(_SpacesOnly):
        def __init__(self) -> None:
            super().__init__()
            self.action_space = gym.spaces.MultiDiscrete([9, 6])

    venv = VecNormalize(DummyVecEnv([_Residual]))
    model = PPO("MlpPolicy", venv, n_steps=64, policy_kwargs={"net_arch": [32]}, seed=1)
    run = tmp_path / "run"
    run.mkdir()
    model.save(run / "model.zip")
    venv.save(str(run / "vecnormalize.pkl"))
    spec.save(run)
    out = tmp_path / "residual.onnx"
    export_policy(run, out, parity_n=500, bench_runs=0)
    meta = read_metadata(out)
    assert meta["action"]["nvec"] == [9, 6] and meta["residual"]["base"] == "artic"
    onnx_agent, ppo_agent = OnnxPolicy(out), PPOAgent(str(run))
    traces = str(Path(__file__).resolve().parents[2] / "traces")
    env = gym.make("artic/VideoChat-v0", preset="lte", split="test", traces_root=traces)
    actions = []
    for agent in (onnx_agent, ppo_agent):
        agent.reset()
        obs, info = env.reset(seed=3)
        seq = []
        for _ in range(40):
            agent.observe(info["feedback"])
            action, _ = agent.predict(obs)
            seq.append(action.tolist())
            obs, _, _, _, info = env.step(action)
        actions.append(seq)
    assert actions[0] == actions[1]
    assert all(len(a) == 3 for a in actions[0])


def test_a_recurrent_policy_exports_its_lstm_and_the_runtime_carries_the_state(
    tiny_recurrent_policy: Path, tmp_path: Path
) -> None:
    """Parity over sequences with the state carried (both LSTM layers, gate order included); the
    metadata says so; the ONNX agent acts like the learned agent step by step and resets."""
    from artic_rl.agents.ppo import PPOAgent

    out = tmp_path / "recurrent.onnx"
    result = export_policy(tiny_recurrent_policy, out, parity_n=2000, bench_runs=50)
    parity = result.parity
    assert parity["observations"] == 2000 and parity["mismatched"] == 0
    assert parity["max_logit_diff"] < 1e-5 and parity["max_state_diff"] < 1e-5
    meta = read_metadata(out)
    assert meta["recurrent"]["layers"] == 2 and meta["recurrent"]["hidden_size"] == 8
    assert meta["recurrent"]["state_inputs"] == ["state_h", "state_c"]
    onnx_agent, ppo_agent = OnnxPolicy(out), PPOAgent(str(tiny_recurrent_policy))
    obs = parity_observations(load_obs_norm(tiny_recurrent_policy), 80, np.random.default_rng(2))
    runs = []
    for agent in (onnx_agent, ppo_agent, onnx_agent):
        agent.reset()
        runs.append([agent.act(o).tolist() for o in obs])
    assert runs[0] == runs[1] == runs[2]
    # a graph fed the zero state at every step acts otherwise: the carried state is what matches
    stateless = []
    for o in obs:
        onnx_agent.reset()
        stateless.append(onnx_agent.act(o).tolist())
    assert stateless != runs[0]


def test_a_recurrent_graph_that_loses_its_state_fails_parity(tiny_recurrent_policy: Path) -> None:
    from artic_rl.agents.ppo import load_model

    model = load_model(tiny_recurrent_policy / "model.zip")
    norm = load_obs_norm(tiny_recurrent_policy)
    graph = build_graph(model, norm, (20, 4, 6), {})
    for node in graph.graph.node:  # the LSTM's initial state ignored: always zeros
        if node.op_type == "LSTM":
            del node.input[5:]
    obs = parity_observations(norm, 1000, np.random.default_rng(3))
    with pytest.raises(ExportError, match="does not reproduce"):
        check_parity(model, norm, graph.SerializeToString(), obs)

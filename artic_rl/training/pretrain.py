"""Warm-start PPO by imitating a heuristic teacher (behaviour cloning), then let PPO improve on it.

Learning the joint bitrate / ROI / frame-rate policy from scratch needs millions of steps; a
20-minute budget on 2 cores gives a few hundred thousand. So training can start from a teacher
(any agent of ``conf/agent/``; by default ``fixed_roi``): its trajectories on the training traces
give

- the observation normalisation statistics (VecNormalize's ``obs_rms``),
- the actor, fitted by maximum likelihood of the teacher's actions (cross-entropy per sub-action),
- the critic, fitted to the teacher's discounted returns (scaled like VecNormalize scales rewards),

so PPO's first updates start from a policy at the teacher's level with a critic that knows it,
rather than from a uniform policy and a random critic. PPO then optimises the reward, which the
teacher never saw. The teacher sees the same feedback channel it sees in evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from artic_rl.agents.base import Agent
from artic_rl.agents.ppo import ObsNorm
from artic_rl.evaluation.rollout import run_episode


@dataclass(frozen=True)
class Demonstrations:
    """Teacher trajectories: raw observations, actions, rewards and discounted returns."""

    obs: np.ndarray  # (n, obs_dim) float32
    actions: np.ndarray  # (n, 3) int64
    returns: np.ndarray  # (n,) discounted return from each step, float64
    rewards: np.ndarray  # (n,) float64


def collect(
    env_id: str,
    env_kwargs: dict[str, Any],
    teacher: Agent,
    steps: int,
    gamma: float,
    seed: int,
    progress_bar: bool = False,
) -> Demonstrations:
    """Run the teacher on the training traces for about ``steps`` steps (whole episodes)."""
    from tqdm import tqdm

    import artic_rl.envs  # noqa: F401

    bar = tqdm(total=steps, disable=not progress_bar, unit="step", desc="teacher")

    env = gym.make(env_id, **env_kwargs)
    obs_l: list[np.ndarray] = []
    act_l: list[np.ndarray] = []
    ret_l: list[np.ndarray] = []
    rew_l: list[np.ndarray] = []

    def record(obs: np.ndarray, action: np.ndarray, reward: float, info: dict[str, Any]) -> None:
        obs_l.append(obs)
        act_l.append(np.asarray(action, dtype=np.int64))
        rewards.append(reward)
        bar.update(1)

    episode = 0
    while sum(len(r) for r in rew_l) < steps:
        rewards: list[float] = []
        run_episode(env, teacher, seed + episode, on_step=record)
        episode += 1
        r = np.asarray(rewards)
        ret_l.append(discounted_returns(r, gamma))
        rew_l.append(r)
    env.close()
    bar.close()
    return Demonstrations(
        np.asarray(obs_l, dtype=np.float32),
        np.asarray(act_l, dtype=np.int64),
        np.concatenate(ret_l),
        np.concatenate(rew_l),
    )


def discounted_returns(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """``G_t = r_t + gamma * G_{t+1}`` for one whole episode."""
    g = np.zeros_like(rewards)
    acc = 0.0
    for i in range(len(rewards) - 1, -1, -1):
        acc = rewards[i] + gamma * acc
        g[i] = acc
    return g


def warm_start(
    model: Any,
    venv: Any,
    demos: Demonstrations,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    progress_bar: bool = False,
) -> dict[str, float]:
    """Set ``venv``'s normalisation from the demonstrations and fit ``model``'s actor and critic to them.

    Returns the final imitation loss, the share of steps whose three sub-actions all match the
    teacher, and the critic's loss.
    """
    import torch

    venv.obs_rms.mean = demos.obs.mean(axis=0).astype(np.float64)
    venv.obs_rms.var = demos.obs.var(axis=0).astype(np.float64)
    venv.obs_rms.count = float(len(demos.obs))
    ret_std = float(np.sqrt(np.var(demos.returns) + venv.epsilon))
    venv.ret_rms.var = np.asarray(ret_std**2)
    venv.ret_rms.count = float(len(demos.returns))
    x = torch.as_tensor(ObsNorm.from_vecnormalize(venv).apply(demos.obs))
    y = torch.as_tensor(demos.actions)
    v = torch.as_tensor(demos.returns / ret_std, dtype=torch.float32)
    policy = model.policy
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    n = len(x)
    pi_loss = vf_loss = torch.tensor(0.0)
    from tqdm import tqdm

    for _ in tqdm(range(epochs), disable=not progress_bar, unit="epoch", desc="cloning"):
        for idx in torch.randperm(n, generator=gen).split(batch_size):
            values, log_prob, _ = policy.evaluate_actions(x[idx], y[idx])
            pi_loss = -log_prob.mean()
            vf_loss = torch.nn.functional.mse_loss(values.flatten(), v[idx])
            opt.zero_grad()
            (pi_loss + 0.5 * vf_loss).backward()
            opt.step()
    with torch.no_grad():
        pred = torch.stack(
            [d.probs.argmax(-1) for d in policy.get_distribution(x).distribution], dim=1
        )
        match = float((pred == y).all(dim=1).float().mean())
    return {"bc_loss": pi_loss.item(), "bc_match": match, "bc_value_loss": vf_loss.item()}

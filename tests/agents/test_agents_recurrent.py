"""The learned agent with a recurrent policy (RecurrentPPO): its LSTM state is carried from step
to step within an episode and starts afresh at each ``reset()``, as in training."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from artic_rl.agents.ppo import ObsNorm, PPOAgent, load_model
from artic_rl.sender.observation import OBS_DIM, OBS_HIGH, OBS_LOW


def _observations(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(OBS_LOW, OBS_HIGH, size=(n, OBS_DIM)).astype(np.float32)


def _torch_actions(model: object, norm: ObsNorm, obs: np.ndarray, carry: bool) -> list[list[int]]:
    """SB3's deterministic actions over ``obs`` from the zero state, the state carried or not."""
    state = None
    out = []
    for o in obs:
        action, next_state = model.predict(  # type: ignore[attr-defined]
            norm.apply(o), state, np.array([state is None]), deterministic=True
        )
        state = next_state if carry else None
        out.append(action.tolist())
    return out


def test_the_state_carries_within_an_episode_and_resets_at_the_next(
    tiny_recurrent_policy: Path,
) -> None:
    agent = PPOAgent(str(tiny_recurrent_policy))
    model, norm = (
        load_model(tiny_recurrent_policy / "model.zip"),
        ObsNorm.load(tiny_recurrent_policy),
    )
    obs = _observations(60, 0)
    carried = _torch_actions(model, norm, obs, carry=True)
    dropped = _torch_actions(model, norm, obs, carry=False)
    assert carried != dropped  # the state matters for this policy: the test below can fail
    agent.reset()
    first = [agent.act(o).tolist() for o in obs]
    assert first == carried
    continued = [agent.act(o).tolist() for o in obs]  # the same observations, the state kept
    assert continued != first
    agent.reset()
    assert [agent.act(o).tolist() for o in obs] == first

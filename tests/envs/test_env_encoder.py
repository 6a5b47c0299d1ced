"""The encoder's lag (``encoder_lag``, ``VideoChatEnv``'s ``encoder_*`` arguments): how the
simulated encoder meets a new bitrate, as the streamer's x264 does."""

from __future__ import annotations

import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import artic_rl.envs  # noqa: F401  (registers the id)
from artic_rl.envs import ENV_ID
from artic_rl.envs.video_chat import encoder_lag

TRACES = str(Path(__file__).resolve().parents[2] / "traces")
LAG = {"rise_deficit": 0.15, "rise_s": 5.0, "drop_overshoot": 0.3, "drop_s": 0.5}


def test_the_encoder_opens_at_its_first_target() -> None:
    assert encoder_lag(473.0, None, 0.2, **LAG) == 0.0


def test_a_rise_falls_short_by_the_deficit_but_never_below_the_last_target() -> None:
    assert encoder_lag(473.0, (389.0, 0.0), 0.2, **LAG) == 0.15  # a rise of 18%: 15% short
    assert encoder_lag(480.0, (473.0, 0.0), 0.2, **LAG) == pytest.approx(1 - 473 / 480)
    assert encoder_lag(600.0, (300.0, 0.0), 0.2, **LAG) == 0.15  # a doubling: 15% too


def test_the_shortfall_fades_and_a_drop_keeps_it() -> None:
    lag = encoder_lag(473.0, (473.0, 0.15), 1.0, **LAG)  # held one second
    assert lag == pytest.approx(0.15 * math.exp(-1.0 / 5.0))
    assert encoder_lag(389.0, (473.0, 0.15), 0.2, **LAG) == pytest.approx(
        0.15 * math.exp(-0.2 / 5.0)
    )  # still short of the last target: no overshoot


def test_a_drop_from_a_met_target_overshoots_briefly() -> None:
    lag = encoder_lag(389.0, (473.0, 0.0), 0.2, **LAG)
    assert lag == -0.3
    assert encoder_lag(389.0, (389.0, lag), 1.0, **LAG) == pytest.approx(-0.3 * math.exp(-2.0))


def _sent(seed: int, **kwargs: float) -> list[float]:
    env = gym.make(ENV_ID, traces_root=TRACES, preset="lte", episode_s=12.0, **kwargs).unwrapped
    env.reset(seed=seed)
    sent = []
    for step in range(15):  # a tier held for 2 s, then two tiers up
        tier = 9 if step < 10 else 11
        _, _, _, _, info = env.step(np.array([tier, 0, 5]))
        sent.append(info["bitrate_kbps"])
    return sent


@pytest.mark.parametrize("backend", ["python", "compiled"])
def test_after_a_rise_the_simulator_sends_less_than_an_ideal_encoder(backend: str) -> None:
    """The same episode (the same residual draws) with the lag and without: the same bytes before
    the first change, about 15% fewer over the second after the rise."""
    if backend == "compiled":
        pytest.importorskip("numba")
    lagged = _sent(3, backend=backend)  # type: ignore[arg-type]
    ideal = _sent(3, backend=backend, encoder_rise_deficit=0.0, encoder_drop_overshoot=0.0)  # type: ignore[arg-type]
    assert lagged[:10] == ideal[:10]
    ratio = sum(lagged[10:15]) / sum(ideal[10:15])
    assert 0.8 < ratio < 0.9


def test_bad_encoder_lag_arguments_are_refused() -> None:
    for kwargs in (
        {"encoder_rise_deficit": 1.0},
        {"encoder_drop_overshoot": -0.1},
        {"encoder_rise_s": 0.0},
    ):
        with pytest.raises(ValueError, match="encoder_"):
            gym.make(ENV_ID, traces_root=TRACES, preset="lte", **kwargs)

"""The compiled ``webrtc`` transport (envs/webrtc_compiled.py, envs/_webrtc_kernels.py): which
implementation runs, and that its state growing, batches through the Python link and tables
re-laid mid-episode leave every number the reference's (the pinned fingerprints)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from test_env_fingerprint_webrtc import CASES, PINNED, TRACES, rollout_hash  # pinned episodes

from artic_rl.envs import ENV_ID, webrtc_compiled
from artic_rl.envs.webrtc_compiled import CompiledWebRtcTransport, make_transport
from artic_rl.envs.webrtc_transport import WebRtcTransport
from artic_rl.net import Link, Trace
from artic_rl.receiver.config import WebRtcReceiverConfig
from artic_rl.runtime.webrtc_rx import model_state
from artic_rl.sender.pacer import Pacer

pytest.importorskip("numba")


def _link(backend: str) -> Link:
    trace = Trace(name="12mbps", opportunities_ms=np.array([1]), period_ms=1)
    return Link(trace, delay_ms=20.0, queue_packets=30, backend=backend)


def test_the_link_backend_picks_the_transport() -> None:
    assert isinstance(make_transport(_link("compiled"), Pacer(), 20.0), CompiledWebRtcTransport)
    assert isinstance(make_transport(_link("python"), Pacer(), 20.0), WebRtcTransport)
    delayed = WebRtcReceiverConfig(nack_send_delay_ms=10.0)  # not modelled by the kernel
    assert isinstance(make_transport(_link("compiled"), Pacer(), 20.0, delayed), WebRtcTransport)


@pytest.mark.parametrize("case", ["lte", "lte-loss5", "3g-loss5"])
def test_growing_state_and_python_batches_keep_the_numbers(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiny tables and rings (they double from the first steps on), no room in the link buffer (most
    batches go through the Python link), and the tables re-laid before each of an episode's first
    steps: the pinned episodes all the same."""
    monkeypatch.setattr(webrtc_compiled, "QUEUE_SLOTS", 16)
    monkeypatch.setattr(webrtc_compiled, "PACKET_ROWS", 8)
    monkeypatch.setattr(webrtc_compiled, "FRAME_ROWS", 8)
    monkeypatch.setattr(webrtc_compiled, "LINK_ROOM", 1)
    original = CompiledWebRtcTransport._run  # the interval's run, whichever way it is asked
    calls: dict[int, int] = {}

    def regrow(self: CompiledWebRtcTransport, *args: float) -> None:
        calls[id(self)] = calls.get(id(self), 0) + 1
        if calls[id(self)] <= 6:  # every live item to a new slot
            k = self._k
            self._grow_queues()
            rows = self.pk_f.shape[0]
            self._grow_tables(int(self.i[k.I_LAST_RELEASED]) + self.fr_i.shape[0], rows)
        original(self, *args)

    monkeypatch.setattr(CompiledWebRtcTransport, "_run", regrow)
    preset, kwargs = CASES[case]
    assert rollout_hash(preset, backend="compiled", **kwargs) == PINNED[case]
    assert calls  # the compiled transport ran


def test_the_receiver_snapshot_is_the_reference_receivers_state() -> None:
    """``transport.rx`` (the fidelity report's jitter-buffer state) of the compiled transport has
    the reference receiver's numbers after the same lossy steps."""
    states = []
    for backend in ("python", "compiled"):
        env = gym.make(
            ENV_ID, traces_root=TRACES, preset="lte", receiver="webrtc", backend=backend,
            loss_rate=0.05, episode_s=30.0,
        ).unwrapped  # fmt: skip
        env.reset(seed=2)
        rng = np.random.default_rng(2)
        for _ in range(60):
            env.step(np.array([rng.integers(20), rng.integers(4), rng.integers(6)]))
        transport = env._timeline.transport  # type: ignore[attr-defined]
        rx = transport.rx
        states.append(
            (model_state(rx, 12_500.0), rx.jitter._startup_sizes, list(rx.rtt._samples),
             rx.jitter.kalman.p, rx.last_released, rx.decoded, rx.keyframe_required)
        )  # fmt: skip
    assert states[0] == states[1]
    assert states[0][0]["nacked_frames"] > 0 and states[0][5] > 10  # a running, lossy state

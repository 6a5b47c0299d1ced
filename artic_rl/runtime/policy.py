"""An exported policy as an agent: onnxruntime on one thread behind the one agent interface."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from artic_rl.agents.residual import Residual, ResidualPolicy, ResidualSpec
from artic_rl.errors import InputError
from artic_rl.runtime.export import read_metadata, session, zero_state
from artic_rl.sender.actions import ActionCodec
from artic_rl.sender.observation import FEATURE_NAMES


class OnnxPolicy(ResidualPolicy):
    """Acts with an ONNX file written by :func:`artic_rl.runtime.export.export_policy`.

    The observation normalisation and the argmax are inside the graph, so ``act`` is one
    ``session.run``. Refuses a file whose observation layout or action grid differs from this code's.
    A residual policy (metadata ``residual``) runs its base agent on the same feedback and
    composes the action with it, as :class:`artic_rl.agents.ppo.PPOAgent` does. A recurrent
    policy (metadata ``recurrent``) feeds each step's LSTM state back into the next;
    :meth:`reset` starts it from zeros, as each episode does.
    """

    name = "onnx"

    def __init__(
        self, path: str | Path, codec: ActionCodec | None = None, interval_ms: float | None = None
    ) -> None:
        self.metadata: dict[str, Any] = read_metadata(path)
        codec = codec or ActionCodec()
        meta_interval = float(self.metadata.get("interval_ms", 200.0))
        super().__init__(codec, meta_interval if interval_ms is None else interval_ms)
        if self.metadata["observation"]["names"] != list(FEATURE_NAMES):
            raise InputError(
                "observation layout differs from artic_rl.sender.observation",
                path,
                field="observation",
            )
        spec = self.metadata.get("residual")
        if spec is not None:
            self.residual = Residual(ResidualSpec.from_dict(spec, path), codec, self.interval_ms)
        want = codec.nvec if self.residual is None else self.residual.nvec
        if self.metadata["action"]["nvec"] != list(want):
            raise InputError(f"action grid {self.metadata['action']['nvec']} != {list(want)}", path)
        self._session = session(Path(path), threads=1)
        self._state = zero_state(self._session, 1)  # {} for a feed-forward policy
        self._outputs = ["action", *(f"{s}_out" for s in self._state)]

    def reset(self) -> None:
        super().reset()
        self._state = zero_state(self._session, 1)

    def policy_action(self, observation: np.ndarray) -> np.ndarray:
        obs = np.asarray(observation, dtype=np.float32).reshape(1, -1)
        action, *state = self._session.run(self._outputs, {"obs": obs, **self._state})
        self._state = dict(zip(self._state, state, strict=True))
        return np.asarray(action[0], dtype=np.int64)

"""The MLLM's periodic samples of the video: the freshest decodable frame stands in for a lost one."""

from __future__ import annotations

from dataclasses import dataclass

from artic_rl.receiver.chain import DecodeLog

MS_PER_S = 1000.0


@dataclass(frozen=True)
class MllmSample:
    """One sampling instant and the frame the MLLM saw (position in the log, -1: none yet)."""

    at_ms: float
    position: int
    stale: bool  # no frame yet, or the same frame as the previous sample (a substitute)


class MllmSampler:
    """Samples every ``1000 / fps`` ms from ``start_ms``."""

    def __init__(self, fps: float, start_ms: float = 0.0) -> None:
        self.fps = fps
        self.next_ms = start_ms
        self._last_position = -1

    def due(self, t_ms: float, log: DecodeLog) -> list[MllmSample]:
        """The samples at instants before ``t_ms`` not taken yet, each of the frame decodable then."""
        period = MS_PER_S / self.fps
        out: list[MllmSample] = []
        while self.next_ms < t_ms:
            s = self.next_ms
            self.next_ms += period
            k = log.freshest_at(s)
            stale = k < 0 or k == self._last_position
            if k >= 0:
                self._last_position = k
            out.append(MllmSample(s, k, stale))
        return out

"""What reaches the sender from the receiver and the cloud MLLM: the one feedback channel.

Every agent, learned or hand-designed, sees the same :class:`FeedbackReport` once per control
interval (the environment puts it in ``info["feedback"]``; the runtime streamer builds it from RTCP-style
reports). It carries per-packet transport feedback (like WebRTC's transport-wide congestion control
feedback), a keyframe request when decoding broke (PLI), and what the cloud MLLM says about the
question: the predicted region (Artic's zero-overhead ROI) and its readability confidence at the
authors' bitrate tiers (what ReCapABR reads).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from itertools import compress
from operator import sub
from typing import NamedTuple

import numpy as np

# The authors' bitrate tiers at which the cloud reports readability confidence (BRIEF.md).
CONFIDENCE_TIERS_KBPS: tuple[float, ...] = (200.0, 400.0, 610.0, 910.0, 1710.0, 3150.0)


def _same(a: object, b: object) -> bool:
    """Field equality: arrays element-wise and floats with NaN equal to NaN, the rest with ``==``."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True  # NaN: "none" in a report field
    return a == b


class _ArrayEq:
    """Value equality for frozen dataclasses that hold numpy arrays (reports compare by content)."""

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(_same(getattr(self, f), getattr(other, f)) for f in self.__dataclass_fields__)  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]


class Delivered(NamedTuple):
    """The received packets of a report as plain Python lists, in sequence order."""

    arrival_ms: list[float]
    send_ms: list[float]
    size_bytes: list[int]
    owd_ms: list[float]  # one-way delay, arrival_ms - send_ms


_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class PacketReports(_ArrayEq):
    """Per-packet feedback, struct of arrays in sequence order. ``arrival_ms`` is NaN for a lost packet."""

    seq: np.ndarray = field(default_factory=lambda: _EMPTY_I)
    send_ms: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    arrival_ms: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    size_bytes: np.ndarray = field(default_factory=lambda: _EMPTY_I)

    def __len__(self) -> int:
        return int(self.seq.shape[0])

    @property
    def lost(self) -> np.ndarray:
        return np.isnan(self.arrival_ms)

    @cached_property
    def delivered(self) -> Delivered:
        """The packets that arrived (arrival not NaN), as lists; worked out once per report.

        A report holds a few dozen packets, where plain Python beats numpy's per-call cost, and
        several readers (observation, GCC, acknowledged throughput) need the same lists. Reports
        are read-only: the lists are not refreshed if the arrays are changed in place.
        """
        arrival = self.arrival_ms.tolist()
        send = self.send_ms.tolist()
        size = self.size_bytes.tolist()
        if any(map(math.isnan, arrival)):
            ok = [x == x for x in arrival]  # NaN: lost
            arrival, send, size = (list(compress(x, ok)) for x in (arrival, send, size))
        return Delivered(arrival, send, size, list(map(sub, arrival, send)))


@dataclass(frozen=True, eq=False)
class FrameReports(_ArrayEq):
    """Per-frame feedback for frames whose fate the sender learned: capture time and when it became decodable."""

    frame_id: np.ndarray = field(default_factory=lambda: _EMPTY_I)
    capture_ms: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    decodable_ms: np.ndarray = field(default_factory=lambda: _EMPTY_F)  # NaN: never decodable

    def __len__(self) -> int:
        return int(self.frame_id.shape[0])


@dataclass(frozen=True, eq=False)
class FeedbackReport(_ArrayEq):
    """Everything the sender learned during one control interval ending at ``now_ms``."""

    now_ms: float
    interval_ms: float
    sent_bytes: int  # bytes the sender itself put on the wire during the interval
    packets: PacketReports = field(default_factory=PacketReports)
    frames: FrameReports = field(default_factory=FrameReports)
    keyframe_request: bool = False
    question_active: bool = False  # the user is asking (the phone hears the question)
    roi_known: bool = False  # the cloud has predicted the region of the (next) question
    roi_area: float = 0.0  # area fraction of that region, 0 when unknown
    confidence: np.ndarray | None = (
        None  # readability confidence at CONFIDENCE_TIERS_KBPS, None when unknown
    )
    question_asked_ms: float = (
        math.nan
    )  # when the question awaiting its answer was asked (NaN: none)
    sent_capture_ms: float = (
        math.nan
    )  # capture time of the newest frame encoded and handed to the pacer

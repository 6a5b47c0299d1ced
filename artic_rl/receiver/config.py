"""Receiver constants, each with its source."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ArticReceiverConfig:
    """Artic's loss-resilient receiver (no retransmission)."""

    # A frame started but not finished is given up this long after its first packet arrived:
    # the streamer's FrameAssembler(max_age_ms=5000) (artic_rl/runtime/jitter.py), the same
    # 5 s after which libwebrtc's receiver counts the stream inactive and stops asking for
    # keyframes (video/video_receive_stream2.cc; ../shared/research/webrtc-receiver.md, section 1).
    frame_timeout_ms: float = 5000.0

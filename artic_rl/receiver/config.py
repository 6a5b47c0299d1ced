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


@dataclass(frozen=True)
class WebRtcReceiverConfig:
    """libwebrtc's receive side as deployed (defaults are upstream's).

    Sources are libwebrtc files (mirrors and commits in ../shared/research/webrtc-receiver.md,
    section 1); "inf." marks a value inferred there, not read in the code.
    """

    # --- NACK (modules/video_coding/nack_requester.{h,cc}) ---
    nack_tick_ms: float = 20.0  # the periodic retry task's period
    nack_send_delay_ms: float = 0.0  # field trial WebRTC-SendNackDelayMs, default 0
    nack_max_retries: int = 10  # retries before an entry is dropped (AW, JB mirrors; 100 in SA)
    nack_max_list: int = 1000  # list size: overflow clears the list and sends a PLI
    # --- RTT (video/call_stats2.cc) ---
    rtt_default_ms: float = 100.0  # the RTT used before any report
    rtt_window_ms: float = 1500.0  # the max RTT over this window
    rtt_report_ms: float = 1000.0  # video RTCP report interval (media_config.h); inf.: one sample
    # --- jitter estimator (modules/video_coding/timing/jitter_estimator.cc) ---
    jitter_model: str = "webrtc"  # "webrtc": the Kalman estimator; "fixed": E + 10 := fixed_jitter
    fixed_jitter_ms: float = 11.0  # the estimator's steady state on a clean link (research §5)
    os_jitter_ms: float = 10.0  # operating-system jitter added to the estimate
    rtt_mult: float = 0.9  # RttMult (hard-coded in SA@376f0ae video_stream_buffer_controller.cc)
    rtt_mult_cap_ms: float = 200.0  # its cap, same place
    rtt_mult_nacked_frames: int = 3  # NACKed frames before the RTT is added
    rtt_mult_timeout_ms: float = 60_000.0  # the NACKed-frame count resets this long after the last
    low_fps_hz: float = 5.0  # no jitter delay below this frame rate
    high_fps_hz: float = 10.0  # full jitter delay above it, linear between
    # --- timing (modules/video_coding/timing/timing.cc, codec_timer.cc) ---
    render_delay_ms: float = 10.0  # render delay R
    min_playout_delay_ms: float = 0.0  # no playout-delay extension
    max_playout_delay_ms: float = 10_000.0  # default maximum playout delay
    decode_ms: float = 2.0  # time to decode a frame (inf.; the p95 estimate of a constant time)
    decode_ignored_samples: int = 5  # codec_timer.cc: the first decode times are ignored
    fast_forward_ms: float = 5.0  # video/frame_decode_timing.cc: a frame this late may be skipped
    # --- renderer (video/render/video_render_frames.cc) ---
    render_drop_late_ms: float = 500.0  # a frame later than this past its render time is dropped
    # --- keyframe requests (video/video_receive_stream2.cc) ---
    freeze_timeout_ms: float = 3000.0  # max_wait_for_frame: no decodable frame -> PLI
    keyframe_timeout_ms: float = 200.0  # max_wait_for_keyframe, while a keyframe is required
    inactive_ms: float = 5000.0  # no PLI unless a packet arrived within this
    keyframe_packet_recent_ms: float = 200.0  # no PLI if a keyframe packet arrived within this


RECEIVERS = ("artic", "webrtc")  # the receiver stacks an environment or a streamer can run


def check_receiver(name: str) -> str:
    """``name`` if it is a known receiver; else one error line naming the known ones."""
    if name not in RECEIVERS:
        raise ValueError(f"unknown receiver {name!r}; known receivers: {', '.join(RECEIVERS)}")
    return name

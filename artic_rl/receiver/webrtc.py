"""libwebrtc's receive side as deployed: NACK, in-order decoding, jitter buffer, render timing.

Pure and clock-injected: the caller hands packets in (:meth:`WebRtcReceiver.on_packet`), RTT
reports (:meth:`~WebRtcReceiver.on_rtt`), and advances time (:meth:`~WebRtcReceiver.advance`,
:meth:`~WebRtcReceiver.next_event_ms`); the receiver leaves what it sends (NACKs, PLIs) and what it
shows in its outboxes. The event specification is section 3 of
../shared/research/webrtc-receiver.md; ties at one instant go arrivals, then timers (NACK task,
freeze timeout), then decoding.

Model (single-layer H.264, frame ``k`` references ``k - 1`` unless it is a keyframe):

- **NACK** (:class:`~artic_rl.receiver.nack.NackList`): on a gap revealed by a later packet, at
  once; retried every 20 ms for entries NACKed an RTT ago; dropped after 10 tries.
- **Continuity and decode order** (FrameBuffer3, RtpSeqNumOnlyRefFinder): a frame is decodable once
  complete and its reference decoded; frames decode in order, one at a time (``decode_ms``). A
  frame whose decode is more than 5 ms overdue is skipped only if a later frame (a keyframe) is
  decodable. A frame that becomes continuous clears the older NACK entries.
- **Jitter buffer and render time** (:mod:`~artic_rl.receiver.jitter`,
  :mod:`~artic_rl.receiver.timing`): render = expected completion + current delay; decoding starts
  at render - D - R; the frame reaches the sink at render - R, or when decoded if later; a frame
  decoded more than 500 ms after its render time is dropped by the renderer.
- **Keyframe requests**: no frame released for 3 s (200 ms while a keyframe is required, at the
  start) sends a PLI, if a packet arrived in the last 5 s and no keyframe packet in the last
  200 ms; repeated every timeout. A NACK list overflow also sends one.

Simplified (documented in the research note as not modelled): FEC, loss notification, temporal
layers, low-latency (playout-delay extension) mode, A/V sync; the decode-time estimate is the
constant ``decode_ms`` after the ignored first samples (libwebrtc: the p95 over 10 s); RTT comes
from the caller's reports; ``nack_send_delay_ms`` > 0 sends at the next periodic run.
"""

from __future__ import annotations

import math
from bisect import insort
from dataclasses import dataclass, field
from typing import NamedTuple

from artic_rl.receiver.config import WebRtcReceiverConfig
from artic_rl.receiver.jitter import JitterEstimator
from artic_rl.receiver.nack import NackList, RttEstimate
from artic_rl.receiver.timing import TICKS_PER_MS, PlayoutDelay, TimestampExtrapolator


class MediaPacket(NamedTuple):
    """One RTP packet as the receiver sees it (media or a retransmission of it); a named tuple,
    as the simulator makes one per packet."""

    seq: int
    frame_id: int
    first_seq: int  # the frame's first and last sequence numbers (start bit, marker bit)
    last_seq: int
    capture_ms: float  # the RTP timestamp, in ms
    keyframe: bool
    size_bytes: int


@dataclass(frozen=True)
class ShownFrame:
    """A frame's fate at the receiver. ``sink_ms`` NaN: dropped (renderer, or skipped)."""

    frame_id: int
    complete_ms: float  # its last packet arrived
    continuous_ms: float  # its reference was in: decodable from here
    release_ms: float  # decoding started (NaN: skipped)
    render_ms: float  # its render time (NaN: skipped)
    sink_ms: float
    nacked: bool  # delayed by retransmission
    decided_ms: float  # when its fate was known (shown, dropped or skipped)
    original_ms: float  # the last of its packets that arrived first time arrived (NaN: none)

    @property
    def retransmission_wait_ms(self) -> float:
        """How long it waited for retransmissions: its own, then its reference's (decoded in
        order, a frame cannot start before the frame it references)."""
        own = self.complete_ms - self.original_ms if self.nacked else 0.0
        return (own if own == own else 0.0) + (self.continuous_ms - self.complete_ms)

    @property
    def hold_ms(self) -> float:
        """The jitter buffer's hold: decodable until released to the decoder."""
        return self.release_ms - self.continuous_ms


@dataclass
class _Frame:
    first_seq: int
    last_seq: int
    capture_ms: float
    keyframe: bool
    received: set[int] = field(default_factory=set)
    size_bytes: int = 0
    complete_ms: float = math.nan
    continuous_ms: float = math.nan
    nacked: bool = False
    original_ms: float = math.nan  # the last first-time packet's arrival

    @property
    def complete(self) -> bool:
        return len(self.received) == self.last_seq - self.first_seq + 1


class WebRtcReceiver:
    """The receive side of one video stream, from packets to shown frames."""

    def __init__(self, config: WebRtcReceiverConfig | None = None) -> None:
        self.config = cfg = config or WebRtcReceiverConfig()
        self.nack = NackList(cfg)
        self.rtt = RttEstimate(cfg)
        self.jitter = JitterEstimator(cfg)
        self.extrapolator = TimestampExtrapolator()
        self.playout = PlayoutDelay(cfg)
        self.keyframe_required = True
        self.last_released = -1
        self.decoded = 0
        # outboxes, drained by the caller
        self.nacks: list[tuple[float, list[int]]] = []  # (sent at, sequence numbers)
        self.plis: list[float] = []
        self.shown: list[ShownFrame] = []
        self._frames: dict[int, _Frame] = {}
        self._continuous: list[int] = []  # continuous frames after the last released, sorted
        self._prev: _Frame | None = None  # the last released frame not delayed by retransmission
        self._pending: tuple[float, int, float] | None = None  # (decode start, frame, render)
        # (decode done, frame, render, decode start)
        self._decoding: tuple[float, int, float, float] | None = None
        self._next_tick_ms = math.inf
        self._timeout_ms = cfg.keyframe_timeout_ms
        self._last_packet_ms = -math.inf
        self._last_key_packet_ms = -math.inf
        self._last_sink_ms = -math.inf

    # --- inputs ---------------------------------------------------------------------------------
    def warm(self, current_delay_ms: float, rtt_ms: float, fps_hz: float, now_ms: float) -> None:
        """Start from a running stream's state (the research note's pre-warmed scenarios)."""
        self.playout.current_ms = current_delay_ms
        self.rtt.on_sample(now_ms, rtt_ms)
        self.jitter.prewarm_fps(fps_hz)

    def on_rtt(self, now_ms: float, rtt_ms: float) -> None:
        """An RTT report (RTCP)."""
        self.rtt.on_sample(now_ms, rtt_ms)

    def on_packet(self, now_ms: float, pkt: MediaPacket) -> None:
        """A packet arrived at ``now_ms``."""
        self._last_packet_ms = now_ms
        if pkt.keyframe:
            self._last_key_packet_ms = now_ms
        idle = not self.nack.entries
        retries, to_nack = self.nack.on_packet(pkt.seq, now_ms)
        if to_nack:
            self.nacks.append((now_ms, to_nack))
        if self.nack.overflowed:
            self.nack.overflowed = False
            self.plis.append(now_ms)
        if idle and self.nack.entries:  # the retry task runs on the 20 ms grid from time 0
            tick = self.config.nack_tick_ms
            self._next_tick_ms = math.ceil(now_ms / tick) * tick
        if pkt.frame_id <= self.last_released:
            return  # too late: its frame was decoded or skipped
        frame = self._frames.get(pkt.frame_id)
        if frame is None:
            frame = _Frame(pkt.first_seq, pkt.last_seq, pkt.capture_ms, pkt.keyframe)
            self._frames[pkt.frame_id] = frame
        if pkt.seq in frame.received:
            return
        frame.received.add(pkt.seq)
        frame.size_bytes += pkt.size_bytes
        frame.nacked |= retries > 0
        if retries == 0 and not now_ms <= frame.original_ms:
            frame.original_ms = now_ms
        if frame.complete:
            frame.complete_ms = now_ms
            self._propagate(pkt.frame_id, now_ms)
        self._schedule(now_ms)

    # --- time -----------------------------------------------------------------------------------
    def next_event_ms(self) -> float:
        """The time of the receiver's next own event (a timer or a decode step)."""
        tick = self._next_tick_ms if self.nack.entries else math.inf
        start = self._pending[0] if self._pending is not None else math.inf
        done = self._decoding[0] if self._decoding is not None else math.inf
        return min(tick, self._timeout_ms, start, done)

    def advance(self, now_ms: float) -> None:
        """Run every event up to ``now_ms``: timers first, then decoding, at each instant."""
        while True:
            tick = self._next_tick_ms if self.nack.entries else math.inf
            start = self._pending[0] if self._pending is not None else math.inf
            done = self._decoding[0] if self._decoding is not None else math.inf
            t = min(tick, self._timeout_ms, start, done)
            if t > now_ms:
                return
            if tick == t:
                self._nack_tick(t)
            elif self._timeout_ms == t:
                self._timeout(t)
            elif done == t:
                self._decode_done(t)
            else:
                self._decode_start(t)

    # --- internals ------------------------------------------------------------------------------
    def _propagate(self, k: int, now_ms: float) -> None:
        """Frame ``k`` completed: it and the complete frames after it may become continuous (pass
        the reference finder into the frame buffer; a frame whose reference is missing waits)."""
        frames = self._frames
        while True:
            frame = frames.get(k)
            if frame is None or not frame.complete or frame.continuous_ms == frame.continuous_ms:
                return
            ref_ok = k - 1 == self.last_released or (
                k - 1 in frames and frames[k - 1].continuous_ms == frames[k - 1].continuous_ms
            )
            if not (frame.keyframe or ref_ok):
                return
            frame.continuous_ms = now_ms
            insort(self._continuous, k)
            if not frame.nacked:  # inserted into the frame buffer: its timestamp is learned
                self.extrapolator.update(frame.complete_ms, frame.capture_ms * TICKS_PER_MS)
            self.nack.clear_up_to(frame.last_seq)
            k += 1

    def _render_ms(self, frame: _Frame, now_ms: float) -> float:
        est = self.extrapolator.local_ms(frame.capture_ms * TICKS_PER_MS)
        return self.playout.render_ms(now_ms if est is None else est)

    def _schedule(self, now_ms: float) -> None:
        """Pick the next frame to decode and when (decoder idle and a frame decodable)."""
        if self._decoding is not None:
            return
        self._pending = None
        cont = self._continuous
        if not cont:
            return
        frames = self._frames
        if self.keyframe_required:
            key = next((k for k in cont if frames[k].keyframe), None)
            if key is not None:
                self._pending = (now_ms, key, self._render_ms(frames[key], now_ms))
            return
        cfg = self.config
        k = cont[0]
        while True:
            render = self._render_ms(frames[k], now_ms)
            wait = render - now_ms - self.playout.decode_ms - cfg.render_delay_ms
            if wait <= -cfg.fast_forward_ms:
                later = next((j for j in cont if j > k and frames[j].keyframe), None)
                if later is not None:
                    self._skip_before(later, now_ms)
                    k = later
                    continue
            start = now_ms + max(0.0, min(wait, self._timeout_ms - now_ms - 1.0))
            self._pending = (start, k, render)
            return

    def _skip_before(self, k: int, now_ms: float) -> None:
        for j in [j for j in self._continuous if j < k]:
            frame = self._frames.pop(j)
            nan = math.nan
            self.shown.append(
                ShownFrame(
                    j,
                    frame.complete_ms,
                    frame.continuous_ms,
                    nan,
                    nan,
                    nan,
                    frame.nacked,
                    now_ms,
                    frame.original_ms,
                )
            )
        self._continuous = [j for j in self._continuous if j >= k]

    def _decode_start(self, now_ms: float) -> None:
        assert self._pending is not None
        _, k, render = self._pending
        self._pending = None
        cfg = self.config
        frame = self._frames[k]
        if frame.keyframe:
            self.keyframe_required = False
        wait = cfg.keyframe_timeout_ms if self.keyframe_required else cfg.freeze_timeout_ms
        self._timeout_ms = now_ms + wait
        if frame.nacked:
            self.jitter.frame_nacked(now_ms)
        else:
            prev = self._prev
            delay = (
                None
                if prev is None
                else (frame.complete_ms - prev.complete_ms) - (frame.capture_ms - prev.capture_ms)
            )
            self.jitter.update(delay, frame.size_bytes, now_ms)
            self._prev = frame
            self.playout.set_jitter(self.jitter.jitter_ms(self.rtt.rtt_ms(now_ms), now_ms))
            self.playout.on_release(render, now_ms)
        self.last_released = k
        self._continuous = [j for j in self._continuous if j > k]
        for j in [j for j in self._frames if j < k]:
            del self._frames[j]
        self._decoding = (now_ms + cfg.decode_ms, k, render, now_ms)

    def _decode_done(self, now_ms: float) -> None:
        assert self._decoding is not None
        _, k, render, release = self._decoding
        self._decoding = None
        cfg = self.config
        frame = self._frames.pop(k)
        late = now_ms > render + cfg.render_drop_late_ms
        # the renderer shows frames in order: never before the previous one
        sink = math.nan if late else max(now_ms, render - cfg.render_delay_ms, self._last_sink_ms)
        if not late:
            self._last_sink_ms = sink
        self.shown.append(
            ShownFrame(
                k,
                frame.complete_ms,
                frame.continuous_ms,
                release,
                render,
                sink,
                frame.nacked,
                now_ms if late else sink,
                frame.original_ms,
            )
        )
        self.decoded += 1
        if self.decoded > cfg.decode_ignored_samples:
            self.playout.decode_ms = cfg.decode_ms
        self._schedule(now_ms)

    def _nack_tick(self, now_ms: float) -> None:
        seqs = self.nack.on_tick(now_ms, self.rtt.rtt_ms(now_ms))
        if seqs:
            self.nacks.append((now_ms, seqs))
        self._next_tick_ms = now_ms + self.config.nack_tick_ms

    def _timeout(self, now_ms: float) -> None:
        cfg = self.config
        active = now_ms - self._last_packet_ms < cfg.inactive_ms
        if active and now_ms - self._last_key_packet_ms >= cfg.keyframe_packet_recent_ms:
            self.plis.append(now_ms)
        wait = cfg.keyframe_timeout_ms if self.keyframe_required else cfg.freeze_timeout_ms
        self._timeout_ms = now_ms + wait
        self._schedule(now_ms)

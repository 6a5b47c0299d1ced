"""The streamer's ``webrtc`` receive side: RTP packets into the shared libwebrtc receiver model.

Pure and clock-injected. :class:`WebRtcFrames` turns each RTP packet (media, or an RFC 4588 RTX
packet unwrapped to its original) into the :class:`~artic_rl.receiver.webrtc.MediaPacket` the
shared :class:`~artic_rl.receiver.webrtc.WebRtcReceiver` takes (the simulator's receiver, the
same object), keeps the payloads of the frames not yet released, and hands back what the model
decided: the sequence numbers to NACK, the keyframe requests, and each frame's fate (released to
the decoder with its access unit, shown at ``sink_ms`` or dropped). The model decides every time
(NACK, retries, in-order decoding, jitter buffer, render time, freeze keyframe requests, renderer
drops); the caller only decodes the released access units with a real decoder and sends the RTCP.

A packet's frame, extent and number come from the RTP header extensions (frame start sequence,
frame descriptor: :mod:`artic_rl.runtime.rtp`); whether its frame is a keyframe, from its NAL
units (an IDR slice, SPS or PPS), as a real receiver tells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from artic_rl.receiver.config import WebRtcReceiverConfig
from artic_rl.receiver.webrtc import MediaPacket, ShownFrame, WebRtcReceiver
from artic_rl.runtime.rtp import (
    H264_PAYLOAD_TYPE,
    NAL_FU_A,
    NAL_IDR,
    NAL_PPS,
    NAL_SPS,
    NAL_STAP_A,
    RTP_TICKS_PER_MS,
    RTX_PAYLOAD_TYPE,
    RtpError,
    RtpPacket,
    SequenceUnwrapper,
    depacketize_h264,
    join_annexb,
    unwrap_rtx,
)

KEY_NAL_TYPES = (NAL_IDR, NAL_SPS, NAL_PPS)
MAX_PENDING_FRAMES = 800  # frames held for decoding (libwebrtc's FrameBuffer3 holds 800)


def packet_is_key(payload: bytes) -> bool:
    """Whether an H.264 RTP payload belongs to a keyframe (IDR slice, SPS or PPS)."""
    if not payload:
        return False
    kind = payload[0] & 0x1F
    if kind == NAL_FU_A and len(payload) > 1:
        return payload[1] & 0x1F in KEY_NAL_TYPES
    if kind == NAL_STAP_A:
        i = 1
        while i + 2 < len(payload):
            size = int.from_bytes(payload[i : i + 2], "big")
            if payload[i + 2] & 0x1F in KEY_NAL_TYPES:
                return True
            i += 2 + size
        return False
    return kind in KEY_NAL_TYPES


@dataclass(frozen=True)
class FrameFate:
    """A frame's fate: the model's record, its RTP timestamp, and its access unit when it was
    released to the decoder (None: skipped, or its payload could not be rebuilt)."""

    shown: ShownFrame
    timestamp: int | None  # None: none of its payloads is held any more (evicted)
    annexb: bytes | None


@dataclass
class _Payloads:
    timestamp: int
    packets: dict[int, bytes]


class WebRtcFrames:
    """One video stream through the shared WebRTC receiver model."""

    def __init__(
        self,
        config: WebRtcReceiverConfig | None = None,
        media_ssrc: int | None = None,
        rtx_ssrc: int | None = None,
    ) -> None:
        self.model = WebRtcReceiver(config)
        self.media_ssrc, self.rtx_ssrc = media_ssrc, rtx_ssrc
        self._seq = SequenceUnwrapper()
        self._frame = SequenceUnwrapper()
        self._payloads: dict[int, _Payloads] = {}
        self.rtx_received = 0
        self.foreign = 0

    def on_rtp(self, pkt: RtpPacket, now_ms: float) -> bool:
        """A packet arrived at ``now_ms`` (media or RTX); False if it is not of this stream."""
        if pkt.payload_type == RTX_PAYLOAD_TYPE:
            if self.rtx_ssrc is not None and pkt.ssrc != self.rtx_ssrc:
                self.foreign += 1
                return False
            try:
                pkt = unwrap_rtx(pkt, self.media_ssrc or 0)
            except RtpError:
                self.foreign += 1
                return False
            self.rtx_received += 1
        elif self.media_ssrc is None:
            self.media_ssrc = pkt.ssrc
        if (
            pkt.payload_type != H264_PAYLOAD_TYPE
            or pkt.ssrc != self.media_ssrc
            or pkt.frame_start_seq is None
            or pkt.frame_number is None
            or not pkt.frame_packets
            or not pkt.payload
        ):
            self.foreign += 1
            return False
        self.advance(now_ms)  # the model's own events before this instant come first
        seq = self._seq.unwrap(pkt.sequence)
        first = seq - ((pkt.sequence - pkt.frame_start_seq) & 0xFFFF)
        frame_id = self._frame.unwrap(pkt.frame_number)
        media = MediaPacket(
            seq,
            frame_id,
            first,
            first + pkt.frame_packets - 1,
            pkt.timestamp / RTP_TICKS_PER_MS,
            packet_is_key(pkt.payload),
            len(pkt.payload),
        )
        if frame_id > self.model.last_released:
            held = self._payloads.setdefault(frame_id, _Payloads(pkt.timestamp, {}))
            held.packets[seq] = pkt.payload
            while len(self._payloads) > MAX_PENDING_FRAMES:
                del self._payloads[min(self._payloads)]
        self.model.on_packet(now_ms, media)
        return True

    def on_rtt(self, now_ms: float, rtt_ms: float) -> None:
        self.advance(now_ms)
        self.model.on_rtt(now_ms, rtt_ms)

    def next_event_ms(self) -> float:
        return self.model.next_event_ms()

    def advance(self, now_ms: float) -> None:
        self.model.advance(now_ms)

    def take_nacks(self) -> list[int]:
        """The sequence numbers (16 bits) the model NACKed since the last call, in order."""
        seqs = [s & 0xFFFF for _, batch in self.model.nacks for s in batch]
        self.model.nacks = []
        return seqs

    def take_plis(self) -> int:
        """How many keyframe requests the model sent since the last call."""
        n = len(self.model.plis)
        self.model.plis = []
        return n

    def take_fates(self) -> list[FrameFate]:
        """The frames whose fate became known since the last call, in frame order."""
        out: list[FrameFate] = []
        for shown in self.model.shown:
            held = self._payloads.pop(shown.frame_id, None)
            annexb = None
            if held is not None and not math.isnan(shown.release_ms):
                try:
                    annexb = join_annexb(
                        depacketize_h264(held.packets[s] for s in sorted(held.packets))
                    )
                except RtpError:
                    annexb = None
            out.append(FrameFate(shown, None if held is None else held.timestamp, annexb))
            for k in [k for k in self._payloads if k <= shown.frame_id]:
                del self._payloads[k]
        self.model.shown = []
        return out


def model_state(model: WebRtcReceiver, now_ms: float) -> dict[str, float]:
    """The jitter buffer's state: where a receiver's hold comes from (for the fidelity report)."""
    j = model.jitter
    return {
        "current_delay_ms": model.playout.current_ms,
        "jitter_ms": j.jitter_ms(model.rtt.rtt_ms(now_ms), now_ms),
        "rtt_ms": model.rtt.rtt_ms(now_ms),
        "avg_frame_bytes": j.avg_size,
        "max_frame_bytes": j.max_size,
        "kalman_slope_ms_per_byte": j.kalman.slope,
        "noise_std_ms": math.sqrt(j.var_noise),
        "fps_hz": j.fps_hz(),
        "nacked_frames": float(j.nacked_frames),
    }

"""The streamer's encoder: the project's :class:`~artic_rl.video.encoder.Encoder`, opened so that
bitrate increases do not re-open it.

The base encoder opens x264 in CBR at the current bitrate; x264 takes a higher bitrate live only up
to the ``maxrate`` it was opened with, so every increase above it re-opens the codec, and a new codec
starts with an IDR. The simulator never sends those keyframes (its keyframes are the first frame and
the receiver's PLIs), so a policy sees ``since_keyframe`` reset, and pays a keyframe's bytes, on each
increase: inputs it never met in training. :class:`LiveRateEncoder` opens with ``maxrate`` at
``ceiling_kbps`` (the top bitrate tier, in the rate controller's frame-rate-compensated units) and
the VBV buffer sized in real time at the current bitrate (``max(vbv_buffer_s, vbv_min_frames /
fps)`` seconds, as the codec profile was measured); x264 keeps a stream opened in CBR in CBR when
the bitrate changes (``maxrate`` follows it), so every later bitrate up to the ceiling applies live
on the next frame. PyAV cannot change the VBV buffer live: when the buffer would hold fewer than
``vbv_min_frames`` frames at a new, higher bitrate (a rise of 2.5x at 10 fps, 7.5x at 30 fps), x264
runs on with the smaller buffer until the next keyframe is requested anyway, and the codec is
re-opened for that keyframe (its IDR is the requested one). A deployed WebRTC encoder sends no
keyframe on a rate change, and neither does the simulator: a re-open on every large rise gave the
stream keyframes, and the queue losses they cause, that the simulator never sends (issue 16).
The codec is re-opened at once only when a frame-rate drop takes the compensated bitrate above the
ceiling.

**One meaning of bitrate.** The simulator's kbps (the codec profile's, the accuracy model's, the
action tiers') are 1080p-equivalent: the bits per pixel of a 1920x1080 stream at that bitrate, with
the 1080p stream's bytes on the wire (``artic-rl profile --reference 1920x1080``). The streamer
means the same in one place, :class:`ReferenceRateEncoder`: a target of N kbps encodes the
``width`` x ``height`` picture at ``N x width * height / (1920 * 1080)`` kbps (the profile's bits
per pixel), and pads every access unit to its size x ``1920 * 1080 / (width * height)``: the link
carries the bytes of the 1080p stream the simulator sends, the judge sees the picture the accuracy
model describes. At 1920x1080 the factor is 1 and nothing is padded. The padding is in the slice
itself, as cabac_zero_words after its trailing bits (H.264 7.3.2.10; x264's CABAC streams), so a
frame is one slice NAL unit of the 1080p frame's size and goes out in as many RTP packets as the
simulator counts for it; a separate filler-data NAL unit (type 12, which decoders discard, the
fallback for a CAVLC stream) is one more packet per frame, which fills the link's drop-tail queue,
counted in packets, half as fast again as the simulator's.

Bits per pixel hold for P frames, not for an IDR: x264's keyframe at 640x360 costs 1.6-2.5 times
the 1080p stream's at the same 1080p-equivalent rate (``scripts/first_keyframe.py``), and WebRTC's
jitter buffer sizes its hold by the largest frame it has seen. So a keyframe is padded to the
1080p stream's keyframe instead: the codec profile's measured keyframe size at the frame's rate,
frame rate and ROI level (:meth:`CodecProfile.keyframe_bytes`, the size the simulator sends), or
the native IDR if that is larger.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from artic_rl.sender.actions import MAX_RATE_KBPS
from artic_rl.video.encoder import EncodedFrame, Encoder, EncoderSettings, _open_codec, split_nals
from artic_rl.video.profile import CodecProfile
from artic_rl.video.roi import Region

REFERENCE_WIDTH, REFERENCE_HEIGHT = 1920, 1080  # the resolution the simulator's kbps describe
NAL_FILLER = 12  # H.264 filler data (ITU-T H.264 7.3.2.7): 0xFF bytes, discarded by decoders
NAL_PPS = 8  # picture parameter set
NAL_SLICES = (1, 5)  # coded slice of a non-IDR / an IDR picture
CABAC_ZERO_WORD = b"\x00\x00\x03"  # 0x0000 and its emulation prevention byte (7.3.2.10, 7.4.1)
_FILLER_OVERHEAD = 6  # 4-byte start code, NAL header, rbsp trailing byte (0x80)


def picture_scale(width: int, height: int) -> float:
    """Native kbps per 1080p-equivalent kbps at ``width`` x ``height`` (equal bits per pixel)."""
    return width * height / float(REFERENCE_WIDTH * REFERENCE_HEIGHT)


def filler_nal(size_bytes: int) -> bytes:
    """An Annex-B filler-data NAL unit of exactly ``size_bytes`` (at least 6) bytes."""
    if size_bytes < _FILLER_OVERHEAD:
        raise ValueError(f"a filler NAL unit takes at least {_FILLER_OVERHEAD} bytes")
    return b"\x00\x00\x00\x01" + bytes([NAL_FILLER]) + b"\xff" * (size_bytes - 6) + b"\x80"


def entropy_coding_mode(pps: bytes) -> bool:
    """``entropy_coding_mode_flag`` (CABAC) of a picture parameter set NAL unit (7.3.2.2): the bit
    after ``pic_parameter_set_id`` and ``seq_parameter_set_id``, both ue(v)."""
    bits = "".join(f"{b:08b}" for b in pps[1:9])
    pos = 0
    for _ in range(2):  # Exp-Golomb: n zeros, a one, n bits
        zeros = bits.index("1", pos) - pos
        pos += 2 * zeros + 1
    return bits[pos] == "1"


def pad_access_unit(data: bytes, size_bytes: int, cabac: bool) -> bytes:
    """``data`` (Annex B, one access unit) padded to ``size_bytes``: cabac_zero_words appended to
    its last slice when ``cabac`` and the access unit ends with one (within 2 bytes of the size),
    else a filler NAL unit (at least 6 bytes); unchanged when it is that size or larger."""
    pad = size_bytes - len(data)
    if pad <= 0:
        return data
    if cabac and data[data.rfind(b"\x00\x00\x01") + 3] & 0x1F in NAL_SLICES:
        return data + CABAC_ZERO_WORD * (pad // 3)
    return data + filler_nal(max(pad, _FILLER_OVERHEAD))


class LiveRateEncoder(Encoder):
    """An :class:`Encoder` whose bitrate rises live up to ``ceiling_kbps`` (bits per second sent)."""

    def __init__(
        self,
        settings: EncoderSettings,
        kbps: float,
        fps: float | None = None,
        roi_level: int = 0,
        region: Region | None = None,
        ceiling_kbps: float = MAX_RATE_KBPS,
    ) -> None:
        self.ceiling_kbps = float(ceiling_kbps)
        self.buffer_kbit = 0.0  # the VBV buffer the codec was opened with (real kbit)
        self.reopens = 0
        super().__init__(settings, kbps, fps, roi_level, region)

    def _ensure_open(self) -> bool:
        s = self.settings
        need_kbit = s.vbv_min_frames / self.sent_fps * self.kbps
        short = need_kbit > self.buffer_kbit * (1 + 1e-9)
        if (
            self._ctx is not None
            and self.encoder_kbps <= self._ceiling_kbps * (1 + 1e-9)
            and not (short and self._want_key)  # a buffer re-sized only with a requested IDR
        ):
            return False
        compensation = s.nominal_fps / self.sent_fps
        self._ceiling_kbps = max(self.ceiling_kbps * compensation, self.encoder_kbps)
        self.buffer_kbit = self.kbps * max(s.vbv_buffer_s, s.vbv_min_frames / self.sent_fps)
        # the base opener sizes the buffer as buffer_s x the ceiling's real rate: scale buffer_s
        ceiling_real = self._ceiling_kbps / compensation
        opener = replace(s, vbv_buffer_s=self.buffer_kbit / ceiling_real, vbv_min_frames=0.0)
        self._ctx = _open_codec(opener, self._ceiling_kbps, self.sent_fps)
        self.reopens += 1
        return True


@dataclass
class ReferenceRateEncoder:
    """The streamer's encoder in the simulator's units: bitrates are 1080p-equivalent kbps.

    Wraps an :class:`Encoder` (duck-typed like it: ``set_bitrate``, ``set_fps``, ``set_roi``,
    ``request_keyframe``, ``encode``); ``scale`` is :func:`picture_scale` of the stream. The inner
    encoder runs at ``kbps x scale``; each encoded P frame is padded (:func:`pad_access_unit`) to
    ``size / scale`` bytes, each IDR to ``profile``'s keyframe size (without a profile: ``size /
    scale`` too), and its record carries the padded size and the 1080p-equivalent target.
    """

    inner: Any
    scale: float
    profile: CodecProfile | None = None
    cabac: bool = field(default=False, init=False)  # read from the stream's PPS

    @property
    def kbps(self) -> float:
        return float(self.inner.kbps) / self.scale

    def set_bitrate(self, kbps: float) -> None:
        self.inner.set_bitrate(kbps * self.scale)

    def set_fps(self, fps: float) -> None:
        self.inner.set_fps(fps)

    def set_roi(self, level: int, region: Region | None = None) -> None:
        self.inner.set_roi(level, region)

    def request_keyframe(self) -> None:
        self.inner.request_keyframe()

    def encode(self, frame: Any, now_ms: float) -> EncodedFrame | None:
        out: EncodedFrame | None = self.inner.encode(frame, now_ms)
        if out is None or not out.data or self.scale >= 1.0:
            return out
        kbps = out.record.kbps / self.scale
        if out.record.frame_type == "I" and self.profile is not None:
            wire = self.profile.keyframe_bytes(kbps, out.record.fps, out.record.roi_level)
        else:
            wire = round(len(out.data) / self.scale)
        for nal in split_nals(out.data) if out.record.frame_type == "I" else ():
            if nal and nal[0] & 0x1F == NAL_PPS:
                self.cabac = entropy_coding_mode(nal)
        data = pad_access_unit(out.data, wire, self.cabac)
        record = replace(out.record, size_bytes=len(data), kbps=kbps)
        return EncodedFrame(data, record, out.decoded_y)


def make_encoder(
    settings: EncoderSettings,
    kbps: float,
    fps: float,
    live_rate: bool = True,
    profile: CodecProfile | None = None,
) -> Any:
    """The streamer's encoder, in 1080p-equivalent kbps (:class:`ReferenceRateEncoder`, its
    keyframes ``profile``'s) around a :class:`LiveRateEncoder` (its ceiling, the top tier, in native
    kbps), or around the base one (``live_rate=False``)."""
    scale = min(picture_scale(settings.width, settings.height), 1.0)
    if live_rate:
        inner: Encoder = LiveRateEncoder(
            settings, kbps=kbps * scale, fps=fps, ceiling_kbps=MAX_RATE_KBPS * scale
        )
    else:
        inner = Encoder(settings, kbps=kbps * scale, fps=fps)
    return ReferenceRateEncoder(inner, scale, profile)

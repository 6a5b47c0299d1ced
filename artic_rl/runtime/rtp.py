"""RTP (RFC 3550) and its H.264 payload format (RFC 6184): what goes on the wire for one video frame.

Sender side: the encoder's Annex-B byte stream is cut into NAL units
(:func:`artic_rl.video.encoder.split_nals`); :class:`H264Packetizer` turns one encoded frame into RTP packets (single NAL unit packets, FU-A
fragments for NAL units larger than the payload budget; the marker bit on the frame's last packet).

Every packet carries one RFC 8285 one-byte header extension (id :data:`EXT_FRAME_START`) with the
16-bit sequence number of its frame's first packet, so that the receiver can tell a complete frame
from one that lost its leading packets without waiting for the next frame. With the ``webrtc``
receiver a second element (id :data:`EXT_FRAME_DESCRIPTOR`) carries the frame's number and its
packet count, as libwebrtc's generic frame descriptor carries a frame id: the shared receiver model
(:class:`artic_rl.receiver.webrtc.WebRtcReceiver`) takes a frame's extent and number with each
packet. A frame still completes only when its last packet is in, so no decision comes earlier than
with the marker bit alone.

Retransmissions are RFC 4588 RTX packets (:func:`rtx_packet`, :func:`unwrap_rtx`): their own SSRC,
payload type and sequence numbers, the original sequence number (OSN) in the payload's first two
bytes.

Receiver side: :meth:`RtpPacket.parse` validates every field (raises :class:`RtpError`),
:func:`depacketize_h264` rebuilds the Annex-B access unit of a complete frame, and
:class:`artic_rl.runtime.jitter.FrameAssembler` does the bounded reassembly.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from artic_rl.video.encoder import split_nals

RTP_VERSION = 2
RTP_HEADER_BYTES = 12
RTP_CLOCK_HZ = 90_000  # H.264 media clock (RFC 6184 section 8.2.1)
RTP_TICKS_PER_MS = RTP_CLOCK_HZ // 1000
H264_PAYLOAD_TYPE = 96  # dynamic payload type
MAX_PAYLOAD_BYTES = 1200  # payload budget per packet (fits any path MTU of 1280+)
MAX_DATAGRAM_BYTES = 1500  # anything larger is dropped unparsed
EXT_FRAME_START = (
    1  # RFC 8285 one-byte element id: 16-bit sequence number of the frame's first packet
)
EXT_FRAME_DESCRIPTOR = 2  # element id: 16-bit frame number, 16-bit packet count of the frame
RTX_PAYLOAD_TYPE = 97  # RFC 4588 retransmission payload type (apt=96)
RTX_OSN_BYTES = 2  # the original sequence number ahead of the retransmitted payload
_ONE_BYTE_PROFILE = 0xBEDE
START_CODE = b"\x00\x00\x00\x01"

NAL_STAP_A = 24
NAL_FU_A = 28
NAL_IDR = 5
NAL_SPS = 7
NAL_PPS = 8


class RtpError(ValueError):
    """A malformed RTP packet or H.264 payload (the receiver counts it and drops it)."""


@dataclass(frozen=True)
class RtpPacket:
    """One RTP packet (RFC 3550 section 5.1). ``frame_start_seq`` is the header extension, if any."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False
    frame_start_seq: int | None = None
    csrc: tuple[int, ...] = ()
    padding_bytes: int = 0
    frame_number: int | None = None  # frame descriptor (16 bits) ...
    frame_packets: int | None = None  # ... and the frame's packet count

    def pack(self) -> bytes:
        """Serialise; raises :class:`RtpError` if a field is out of range."""
        if not (0 <= self.payload_type < 128 and 0 <= self.sequence < 1 << 16):
            raise RtpError(
                f"payload type {self.payload_type} / sequence {self.sequence} out of range"
            )
        if not (0 <= self.timestamp < 1 << 32 and 0 <= self.ssrc < 1 << 32 and len(self.csrc) < 16):
            raise RtpError("timestamp, ssrc or csrc count out of range")
        has_ext = self.frame_start_seq is not None
        first = (RTP_VERSION << 6) | (0x20 if self.padding_bytes else 0) | (0x10 if has_ext else 0)
        first |= len(self.csrc)
        out = bytearray(
            struct.pack(
                "!BBHII",
                first,
                (0x80 if self.marker else 0) | self.payload_type,
                self.sequence,
                self.timestamp,
                self.ssrc,
            )
        )
        for c in self.csrc:
            out += struct.pack("!I", c)
        if has_ext and self.frame_number is not None:
            # two elements, 3 + 5 bytes: frame start, then frame number and packet count
            out += struct.pack(
                "!HHBHBHH",
                _ONE_BYTE_PROFILE,
                2,
                (EXT_FRAME_START << 4) | 1,
                int(self.frame_start_seq or 0) & 0xFFFF,
                (EXT_FRAME_DESCRIPTOR << 4) | 3,
                self.frame_number & 0xFFFF,
                int(self.frame_packets or 0) & 0xFFFF,
            )
        elif has_ext:
            # one element: id, len-1 = 1 (two bytes of data), one byte of zero padding to a 32-bit word
            out += struct.pack(
                "!HHBHB",
                _ONE_BYTE_PROFILE,
                1,
                (EXT_FRAME_START << 4) | 1,
                int(self.frame_start_seq or 0) & 0xFFFF,
                0,
            )
        out += self.payload
        if self.padding_bytes:
            if not 0 < self.padding_bytes < 256:
                raise RtpError(f"padding {self.padding_bytes} out of range")
            out += bytes(self.padding_bytes - 1) + bytes([self.padding_bytes])
        return bytes(out)

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse and validate one datagram; raises :class:`RtpError` on anything malformed."""
        n = len(data)
        if n < RTP_HEADER_BYTES:
            raise RtpError(f"{n} bytes is shorter than an RTP header")
        if n > MAX_DATAGRAM_BYTES:
            raise RtpError(f"{n} bytes is larger than {MAX_DATAGRAM_BYTES}")
        first, second, seq, ts, ssrc = struct.unpack_from("!BBHII", data)
        if first >> 6 != RTP_VERSION:
            raise RtpError(f"RTP version {first >> 6}")
        cc = first & 0x0F
        pos = RTP_HEADER_BYTES + 4 * cc
        if pos > n:
            raise RtpError("CSRC list runs past the packet")
        csrc = struct.unpack_from(f"!{cc}I", data, RTP_HEADER_BYTES)
        frame_start = descriptor = None
        if first & 0x10:
            frame_start, descriptor, pos = _parse_extension(data, pos)
        end = n
        padding = 0
        if first & 0x20:
            padding = data[-1]
            if padding == 0 or pos + padding > n:
                raise RtpError(f"bad padding length {padding}")
            end = n - padding
        return cls(
            payload_type=second & 0x7F,
            sequence=seq,
            timestamp=ts,
            ssrc=ssrc,
            payload=bytes(data[pos:end]),
            marker=bool(second & 0x80),
            frame_start_seq=frame_start,
            csrc=tuple(csrc),
            padding_bytes=padding,
            frame_number=None if descriptor is None else descriptor[0],
            frame_packets=None if descriptor is None else descriptor[1],
        )


def _parse_extension(data: bytes, pos: int) -> tuple[int | None, tuple[int, int] | None, int]:
    """Parse the header extension at ``pos``; returns (frame start sequence or None, (frame
    number, packet count) or None, payload start)."""
    if pos + 4 > len(data):
        raise RtpError("header extension runs past the packet")
    profile, words = struct.unpack_from("!HH", data, pos)
    start, end = pos + 4, pos + 4 + 4 * words
    if end > len(data):
        raise RtpError("header extension runs past the packet")
    frame_start = None
    descriptor: tuple[int, int] | None = None
    if profile == _ONE_BYTE_PROFILE:
        i = start
        while i < end:
            byte = data[i]
            if byte == 0:  # padding
                i += 1
                continue
            ident, length = byte >> 4, (byte & 0x0F) + 1
            if ident == 15:
                break
            if i + 1 + length > end:
                raise RtpError("header extension element runs past the extension")
            if ident == EXT_FRAME_START and length == 2:
                frame_start = struct.unpack_from("!H", data, i + 1)[0]
            if ident == EXT_FRAME_DESCRIPTOR and length == 4:
                number, count = struct.unpack_from("!HH", data, i + 1)
                descriptor = (int(number), int(count))
            i += 1 + length
    return frame_start, descriptor, end


def join_annexb(nals: Iterable[bytes]) -> bytes:
    """The inverse of :func:`artic_rl.video.encoder.split_nals` (4-byte start codes)."""
    return b"".join(START_CODE + n for n in nals)


def h264_payloads(nals: Sequence[bytes], max_payload_bytes: int = MAX_PAYLOAD_BYTES) -> list[bytes]:
    """RFC 6184 payloads for one access unit: a single NAL unit packet per NAL unit that fits,
    FU-A fragments (section 5.8) for the others."""
    if max_payload_bytes < 3:
        raise ValueError("max_payload_bytes must leave room for the FU-A headers")
    out: list[bytes] = []
    for nal in nals:
        if not nal:
            continue
        if len(nal) <= max_payload_bytes:
            out.append(bytes(nal))
            continue
        indicator = (nal[0] & 0xE0) | NAL_FU_A
        nal_type = nal[0] & 0x1F
        body = memoryview(nal)[1:]
        step = max_payload_bytes - 2
        n_frag = (len(body) + step - 1) // step
        for k in range(n_frag):
            header = nal_type | (0x80 if k == 0 else 0) | (0x40 if k == n_frag - 1 else 0)
            out.append(bytes([indicator, header]) + bytes(body[k * step : (k + 1) * step]))
    return out


def depacketize_h264(payloads: Iterable[bytes]) -> list[bytes]:
    """Rebuild the NAL units of one access unit from its payloads in sequence order.

    Accepts single NAL unit packets, STAP-A (section 5.7.1) and FU-A; raises :class:`RtpError` on a
    forbidden bit, an unsupported type, a truncated aggregate, or an FU-A run that does not start
    with S, end with E, or keep one NAL type.
    """
    nals: list[bytes] = []
    fu: bytearray | None = None
    fu_type = -1
    for p in payloads:
        if not p:
            raise RtpError("empty payload")
        if p[0] & 0x80:
            raise RtpError("forbidden_zero_bit set")
        kind = p[0] & 0x1F
        if kind == NAL_FU_A:
            fu, fu_type = _fu_a_step(p, fu, fu_type, nals)
            continue
        if fu is not None:
            raise RtpError("FU-A fragment run interrupted")
        if 1 <= kind <= 23:
            nals.append(bytes(p))
        elif kind == NAL_STAP_A:
            nals.extend(_stap_a(p))
        else:
            raise RtpError(f"unsupported NAL unit type {kind}")
    if fu is not None:
        raise RtpError("FU-A fragment run without an end fragment")
    return nals


def _fu_a_step(
    p: bytes, fu: bytearray | None, fu_type: int, nals: list[bytes]
) -> tuple[bytearray | None, int]:
    if len(p) < 3:
        raise RtpError("FU-A fragment too short")
    start, end, kind = bool(p[1] & 0x80), bool(p[1] & 0x40), p[1] & 0x1F
    if start == (fu is not None):
        raise RtpError("FU-A start bit out of place")
    if fu is None:
        fu, fu_type = bytearray([(p[0] & 0xE0) | kind]), kind
    elif kind != fu_type:
        raise RtpError("FU-A NAL type changed within a fragment run")
    fu += p[2:]
    if end:
        nals.append(bytes(fu))
        return None, -1
    return fu, fu_type


def _stap_a(p: bytes) -> list[bytes]:
    out: list[bytes] = []
    i = 1
    while i < len(p):
        if i + 2 > len(p):
            raise RtpError("STAP-A truncated size field")
        size = struct.unpack_from("!H", p, i)[0]
        i += 2
        if size == 0 or i + size > len(p):
            raise RtpError("STAP-A unit runs past the packet")
        out.append(bytes(p[i : i + size]))
        i += size
    return out


def is_keyframe(nals: Iterable[bytes]) -> bool:
    """True when the access unit holds an IDR slice (decoding can restart here)."""
    return any(n and (n[0] & 0x1F) == NAL_IDR for n in nals)


class H264Packetizer:
    """Turns encoded frames into RTP packets; owns the sequence number (wraps at 2^16)."""

    def __init__(
        self,
        ssrc: int,
        payload_type: int = H264_PAYLOAD_TYPE,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
        first_sequence: int = 0,
        frame_descriptor: bool = False,
    ) -> None:
        self.ssrc = ssrc
        self.payload_type = payload_type
        self.max_payload_bytes = max_payload_bytes
        self.next_sequence = first_sequence & 0xFFFF
        self.frame_descriptor = frame_descriptor  # add the frame number and packet count
        self.frame_number = 0

    def packetize(self, annexb: bytes, capture_ms: float) -> list[RtpPacket]:
        """All packets of one encoded frame; the RTP timestamp is ``capture_ms`` on the 90 kHz clock."""
        payloads = h264_payloads(split_nals(annexb), self.max_payload_bytes)
        timestamp = round(capture_ms * RTP_TICKS_PER_MS) & 0xFFFFFFFF
        first = self.next_sequence
        packets = [
            RtpPacket(
                payload_type=self.payload_type,
                sequence=(first + k) & 0xFFFF,
                timestamp=timestamp,
                ssrc=self.ssrc,
                payload=pl,
                marker=k == len(payloads) - 1,
                frame_start_seq=first,
                frame_number=self.frame_number & 0xFFFF if self.frame_descriptor else None,
                frame_packets=len(payloads) if self.frame_descriptor else None,
            )
            for k, pl in enumerate(payloads)
        ]
        self.next_sequence = (first + len(packets)) & 0xFFFF
        self.frame_number += 1
        return packets


def rtx_packet(pkt: RtpPacket, rtx_sequence: int, rtx_ssrc: int) -> RtpPacket:
    """The RFC 4588 retransmission of ``pkt``: RTX SSRC, payload type and sequence number, the
    original sequence number (OSN) ahead of the payload; header extensions and marker kept."""
    return replace(
        pkt,
        payload_type=RTX_PAYLOAD_TYPE,
        sequence=rtx_sequence & 0xFFFF,
        ssrc=rtx_ssrc,
        payload=struct.pack("!H", pkt.sequence) + pkt.payload,
    )


def unwrap_rtx(rtx: RtpPacket, media_ssrc: int, payload_type: int = H264_PAYLOAD_TYPE) -> RtpPacket:
    """The original packet inside an RTX packet; raises :class:`RtpError` if it holds none."""
    if len(rtx.payload) <= RTX_OSN_BYTES:
        raise RtpError("RTX packet without a payload")
    (osn,) = struct.unpack_from("!H", rtx.payload)
    return replace(
        rtx,
        payload_type=payload_type,
        sequence=osn,
        ssrc=media_ssrc,
        payload=rtx.payload[RTX_OSN_BYTES:],
    )


class SequenceUnwrapper:
    """Extends 16-bit sequence numbers to monotone 64-bit ones (RFC 3550 appendix A.1 style)."""

    def __init__(self) -> None:
        self._last: int | None = None

    def unwrap(self, seq: int) -> int:
        """The extended sequence number closest to the last one seen."""
        if self._last is None:
            self._last = seq & 0xFFFF
            return self._last
        delta = ((seq - self._last) + (1 << 15)) % (1 << 16) - (1 << 15)
        ext = self._last + delta
        if ext > self._last:
            self._last = ext
        return ext

    def peek(self, seq: int) -> int:
        """Like :meth:`unwrap` but without moving the reference."""
        if self._last is None:
            return seq & 0xFFFF
        return self._last + ((seq - self._last) + (1 << 15)) % (1 << 16) - (1 << 15)

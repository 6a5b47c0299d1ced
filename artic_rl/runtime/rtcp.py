"""RTCP-style feedback from the receiver (and the cloud MLLM behind it) to the sender.

Messages, each one RTCP packet with the common header of RFC 3550 section 6.4 and the
feedback layout of RFC 4585 (sender SSRC, media SSRC), concatenated into compound datagrams:

=====================  ====  ===  ==================================================================
message                PT    FMT  body
=====================  ====  ===  ==================================================================
TransportFeedback      205   15   base seq u16, count u16, reference u32, count x int16 arrival
                                  deltas (all times in 250 us units, like transport-cc; -32768 = lost)
FrameFeedback          205   30   count u16, 0 u16, count x (RTP timestamp u32, decodable time u32,
                                  0xFFFFFFFF = never decodable)
PictureLossIndication  206   1    none (RFC 4585 section 6.3.1)
GenericNack            205   1    n x (PID u16, BLP u16): PID lost, bit i of BLP: PID + i + 1 lost
                                  (RFC 4585 section 6.2.1; the media SSRC field names the stream)
CloudFeedback          204   0    APP "ARTC": flags u8, n u8, ROI area u16, ROI box 4 x u16, n x u8
                                  confidence (fractions scaled to 65535 / 255)
=====================  ====  ===  ==================================================================

Two RFC 3611 extended reports (PT 207, an 8-byte header: no media SSRC) give the ``webrtc``
receiver its round-trip time, as a receive-only endpoint measures it: the receiver sends a
:class:`ReceiverReferenceTime` (RRTR, block type 4: its NTP time), the sender answers at once with
a :class:`DelaySinceLastRr` (DLRR, block type 5: the RRTR's middle 32 NTP bits and the delay since
it arrived, both in 1/65536 s) on the media path, and the receiver's RTT is
``now - last_rr - delay`` (RFC 3611 section 4.5).

Times are milliseconds since the session epoch, which sender and receiver share (one host, one
monotonic clock). :func:`encode` / :func:`decode` are pure; :func:`decode` raises
:class:`RtcpError` on anything malformed.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

RTCP_VERSION = 2
PT_APP = 204
PT_RTPFB = 205
PT_PSFB = 206
FMT_TRANSPORT = 15
FMT_FRAMES = 30
FMT_PLI = 1
FMT_NACK = 1  # RTPFB Generic NACK (RFC 4585 section 6.2.1)
PT_XR = 207  # RFC 3611 extended report
XR_RRTR = 4  # receiver reference time report block
XR_DLRR = 5  # DLRR report block
NACK_BLP_BITS = 16
NTP_UNITS_PER_MS = 65_536 / 1000.0  # the middle 32 NTP bits count 1/65536 s
APP_NAME = b"ARTC"
TICKS_PER_MS = 4  # 250 us resolution
LOST_DELTA = -32768
NEVER = 0xFFFFFFFF
MAX_TRANSPORT_COUNT = 4096
_FLAG_QUESTION, _FLAG_ROI, _FLAG_BOX, _FLAG_CONF, _FLAG_AGE = 1, 2, 4, 8, 16


class RtcpError(ValueError):
    """A malformed feedback datagram."""


@dataclass(frozen=True)
class TransportFeedback:
    """Arrival times of consecutive sequence numbers from ``base_seq`` (NaN = lost)."""

    base_seq: int
    arrival_ms: tuple[float, ...]
    ssrc: int = 0  # the stream the sequence numbers belong to (0: the datagram's media SSRC)


@dataclass(frozen=True)
class FrameFeedback:
    """When frames (by RTP timestamp) became decodable at the receiver (NaN = never)."""

    timestamps: tuple[int, ...]
    decodable_ms: tuple[float, ...]


@dataclass(frozen=True)
class PictureLossIndication:
    """Decoding broke: send a keyframe."""


@dataclass(frozen=True)
class CloudFeedback:
    """What the cloud MLLM says about the (next) question: region and readability confidence."""

    question_active: bool = False
    roi_known: bool = False
    roi_area: float = 0.0
    roi_box: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 as frame fractions
    confidence: tuple[float, ...] | None = None
    question_age_ms: float | None = None  # how long ago the question awaiting its answer was asked


@dataclass(frozen=True)
class GenericNack:
    """Lost packets by RTP sequence number (16 bits), asking for their retransmission."""

    seqs: tuple[int, ...]
    ssrc: int = 0  # the media stream (0: the datagram's media SSRC)


@dataclass(frozen=True)
class ReceiverReferenceTime:
    """RFC 3611 RRTR: the receiver's clock when it sent this report (session ms)."""

    time_ms: float


@dataclass(frozen=True)
class DelaySinceLastRr:
    """RFC 3611 DLRR: the last RRTR's time (session ms, 1/65536 s resolution, wraps at 65536 s)
    and how long the sender held it before answering."""

    last_rr_ms: float
    delay_ms: float

    def rtt_ms(self, now_ms: float) -> float:
        """The round trip it closes at ``now_ms``, on the same 1/65536 s grid as the wire."""
        now = _ntp_mid(now_ms)
        return ((now - _ntp_mid(self.last_rr_ms)) % (1 << 32)) / NTP_UNITS_PER_MS - self.delay_ms


Message = (
    TransportFeedback
    | FrameFeedback
    | PictureLossIndication
    | CloudFeedback
    | GenericNack
    | ReceiverReferenceTime
    | DelaySinceLastRr
)


def _ntp_mid(ms: float) -> int:
    """The middle 32 bits of a 64-bit NTP time of ``ms`` session milliseconds."""
    return round(max(ms, 0.0) * NTP_UNITS_PER_MS) & 0xFFFFFFFF


def nack_fci(seqs: Sequence[int]) -> list[tuple[int, int]]:
    """(PID, BLP) pairs covering ``seqs`` (ascending, possibly extended: taken modulo 2^16)."""
    out: list[tuple[int, int]] = []
    pid: int | None = None
    blp = 0
    for s in sorted(set(seqs)):
        if pid is not None and 1 <= s - pid <= NACK_BLP_BITS:
            blp |= 1 << (s - pid - 1)
            continue
        if pid is not None:
            out.append((pid & 0xFFFF, blp))
        pid, blp = s, 0
    if pid is not None:
        out.append((pid & 0xFFFF, blp))
    return out


def nack_seqs(fci: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """The sequence numbers (16 bits) a list of (PID, BLP) pairs names, in order."""
    out: list[int] = []
    for pid, blp in fci:
        out.append(pid)
        out += [(pid + i + 1) & 0xFFFF for i in range(NACK_BLP_BITS) if blp >> i & 1]
    return tuple(out)


def _xr(block: bytes, sender_ssrc: int) -> bytes:
    """One RFC 3611 extended report holding ``block`` (8-byte header: V=2, PT=207, SSRC)."""
    words = (4 + len(block)) // 4
    return struct.pack("!BBHI", RTCP_VERSION << 6, PT_XR, words, sender_ssrc) + block


def _pack(msg: Message, sender_ssrc: int, media_ssrc: int) -> bytes:
    if isinstance(msg, ReceiverReferenceTime):
        ntp = round(max(msg.time_ms, 0.0) * (1 << 32) / 1000.0)
        return _xr(struct.pack("!BBHQ", XR_RRTR, 0, 2, ntp & ((1 << 64) - 1)), sender_ssrc)
    if isinstance(msg, DelaySinceLastRr):
        lrr, dlrr = _ntp_mid(msg.last_rr_ms), _ntp_mid(msg.delay_ms)
        return _xr(struct.pack("!BBHIII", XR_DLRR, 0, 3, media_ssrc, lrr, dlrr), sender_ssrc)
    ssrc = getattr(msg, "ssrc", 0) or media_ssrc
    return b"".join(_header(fmt, pt, body, sender_ssrc, ssrc) for fmt, pt, body in _encode_one(msg))


def _header(fmt: int, pt: int, body: bytes, sender_ssrc: int, media_ssrc: int) -> bytes:
    body = body + bytes(-len(body) % 4)
    words = (8 + len(body)) // 4  # length field: 32-bit words minus one, header word excluded
    return (
        struct.pack("!BBHII", (RTCP_VERSION << 6) | fmt, pt, words, sender_ssrc, media_ssrc) + body
    )


def _ticks(ms: float) -> int:
    return int(min(max(round(ms * TICKS_PER_MS), 0), NEVER - 1))


def _encode_transport(msg: TransportFeedback) -> list[tuple[int, int, bytes]]:
    """One or more bodies: a run is split where a delta does not fit in int16 or at the count limit."""
    out: list[tuple[int, int, bytes]] = []
    base, arrivals = msg.base_seq, list(msg.arrival_ms)
    while arrivals:
        ref = next((_ticks(a) for a in arrivals if not math.isnan(a)), 0)
        prev, deltas = ref, []
        for a in arrivals[:MAX_TRANSPORT_COUNT]:
            if math.isnan(a):
                deltas.append(LOST_DELTA)
                continue
            d = _ticks(a) - prev
            if not -32767 <= d <= 32767:
                break
            deltas.append(d)
            prev += d
        body = struct.pack(f"!HHI{len(deltas)}h", base & 0xFFFF, len(deltas), ref, *deltas)
        out.append((FMT_TRANSPORT, PT_RTPFB, body))
        base, arrivals = base + len(deltas), arrivals[len(deltas) :]
    return out


def _encode_one(msg: Message) -> list[tuple[int, int, bytes]]:
    if isinstance(msg, TransportFeedback):
        return _encode_transport(msg)
    if isinstance(msg, FrameFeedback):
        body = struct.pack("!HH", len(msg.timestamps), 0)
        for ts, t in zip(msg.timestamps, msg.decodable_ms, strict=True):
            body += struct.pack("!II", ts & 0xFFFFFFFF, NEVER if math.isnan(t) else _ticks(t))
        return [(FMT_FRAMES, PT_RTPFB, body)]
    if isinstance(msg, PictureLossIndication):
        return [(FMT_PLI, PT_PSFB, b"")]
    if isinstance(msg, GenericNack):
        fci = nack_fci(msg.seqs)
        return [
            (FMT_NACK, PT_RTPFB, struct.pack(f"!{2 * len(fci)}H", *(v for p in fci for v in p)))
        ]
    assert isinstance(msg, CloudFeedback)
    return [(0, PT_APP, APP_NAME + _encode_cloud(msg))]


def _encode_cloud(msg: CloudFeedback) -> bytes:
    conf = msg.confidence or ()
    flags = (
        (_FLAG_QUESTION if msg.question_active else 0)
        | (_FLAG_ROI if msg.roi_known else 0)
        | (_FLAG_BOX if msg.roi_box is not None else 0)
        | (_FLAG_CONF if msg.confidence is not None else 0)
        | (_FLAG_AGE if msg.question_age_ms is not None else 0)
    )
    box = msg.roi_box or (0.0, 0.0, 0.0, 0.0)
    u16 = [round(min(max(v, 0.0), 1.0) * 65535) for v in (msg.roi_area, *box)]
    u8 = [round(min(max(c, 0.0), 1.0) * 255) for c in conf]
    age = (
        [] if msg.question_age_ms is None else [round(min(max(msg.question_age_ms, 0.0), 65535.0))]
    )
    return struct.pack(f"!BB5H{len(u8)}B{len(age)}H", flags, len(u8), *u16, *u8, *age)


def encode(messages: Sequence[Message], sender_ssrc: int = 0, media_ssrc: int = 0) -> bytes:
    """One compound datagram holding ``messages`` in order."""
    return b"".join(_pack(msg, sender_ssrc, media_ssrc) for msg in messages)


def decode(data: bytes) -> list[Message]:
    """All messages of one compound datagram; raises :class:`RtcpError` on anything malformed."""
    out: list[Message] = []
    pos = 0
    while pos < len(data):
        if pos + 12 > len(data):
            raise RtcpError("truncated RTCP header")
        first, pt, words = struct.unpack_from("!BBH", data, pos)
        end = pos + 4 * (words + 1)
        if first >> 6 != RTCP_VERSION or first & 0x20 or words < 2 or end > len(data):
            raise RtcpError(f"bad RTCP header at byte {pos}")
        if pt == PT_XR:
            out += _decode_xr(data[pos + 8 : end])
        else:
            (media_ssrc,) = struct.unpack_from("!I", data, pos + 8)
            out.append(_decode_body(first & 0x1F, pt, data[pos + 12 : end], media_ssrc))
        pos = end
    return out


def _decode_xr(blocks: bytes) -> list[Message]:
    """The RRTR and DLRR blocks of one extended report (other block types are skipped)."""
    out: list[Message] = []
    pos = 0
    try:
        while pos + 4 <= len(blocks):
            bt, _, words = struct.unpack_from("!BBH", blocks, pos)
            body = blocks[pos + 4 : pos + 4 + 4 * words]
            if len(body) < 4 * words:
                raise RtcpError("truncated XR block")
            if bt == XR_RRTR:
                (ntp,) = struct.unpack_from("!Q", body)
                out.append(ReceiverReferenceTime(ntp * 1000.0 / (1 << 32)))
            elif bt == XR_DLRR:
                for k in range(0, 4 * words - 11, 12):
                    _, lrr, dlrr = struct.unpack_from("!III", body, k)
                    out.append(DelaySinceLastRr(lrr / NTP_UNITS_PER_MS, dlrr / NTP_UNITS_PER_MS))
            pos += 4 + 4 * words
    except struct.error as err:
        raise RtcpError(f"truncated XR block: {err}") from None
    return out


def _decode_body(fmt: int, pt: int, body: bytes, media_ssrc: int = 0) -> Message:
    try:
        if pt == PT_RTPFB and fmt == FMT_TRANSPORT:
            msg = _decode_transport(body)
            return TransportFeedback(msg.base_seq, msg.arrival_ms, media_ssrc)
        if pt == PT_RTPFB and fmt == FMT_NACK:
            vals = struct.unpack_from(f"!{len(body) // 2}H", body)
            return GenericNack(
                nack_seqs(list(zip(vals[0::2], vals[1::2], strict=True))), media_ssrc
            )
        if pt == PT_RTPFB and fmt == FMT_FRAMES:
            (count,) = struct.unpack_from("!H", body)
            vals = struct.unpack_from(f"!{2 * count}I", body, 4)
            ts, t = vals[0::2], vals[1::2]
            return FrameFeedback(
                tuple(ts), tuple(math.nan if v == NEVER else v / TICKS_PER_MS for v in t)
            )
        if pt == PT_PSFB and fmt == FMT_PLI:
            return PictureLossIndication()
        if pt == PT_APP and body[:4] == APP_NAME:
            return _decode_cloud(body[4:])
    except struct.error as err:
        raise RtcpError(f"truncated feedback body: {err}") from None
    raise RtcpError(f"unknown feedback message PT={pt} FMT={fmt}")


def _decode_transport(body: bytes) -> TransportFeedback:
    base, count, ref = struct.unpack_from("!HHI", body)
    deltas = struct.unpack_from(f"!{count}h", body, 8)
    arrivals: list[float] = []
    t = ref
    for d in deltas:
        if d == LOST_DELTA:
            arrivals.append(math.nan)
        else:
            t += d
            arrivals.append(t / TICKS_PER_MS)
    return TransportFeedback(base, tuple(arrivals))


def _decode_cloud(body: bytes) -> CloudFeedback:
    flags, n = struct.unpack_from("!BB", body)
    area, *box = struct.unpack_from("!5H", body, 2)
    conf = struct.unpack_from(f"!{n}B", body, 12)
    age = struct.unpack_from("!H", body, 12 + n)[0] if flags & _FLAG_AGE else None
    return CloudFeedback(
        question_active=bool(flags & _FLAG_QUESTION),
        roi_known=bool(flags & _FLAG_ROI),
        roi_area=area / 65535,
        roi_box=tuple(v / 65535 for v in box) if flags & _FLAG_BOX else None,
        confidence=tuple(c / 255 for c in conf) if flags & _FLAG_CONF else None,
        question_age_ms=None if age is None else float(age),
    )

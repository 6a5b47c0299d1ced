"""A live, low-delay PyAV encoder with frame-rate control, region of interest and per-frame records.

Usable frame by frame in real time (the runtime streamer) and offline (the profiler)::

    enc = Encoder(EncoderSettings(width=640, height=360), kbps=400, fps=10)
    enc.set_roi(2, Region(200, 100, 120, 40))
    out = enc.encode(yuv420p_frame, now_ms=0.0)   # None when frame-rate control drops the frame
    out.data, out.nals, out.record.size_bytes

Rate control (libx264): constant bitrate with a VBV (``maxrate = bitrate``, ``bufsize`` =
``vbv_buffer_s`` seconds). FFmpeg's libx264 wrapper re-configures x264 when ``bit_rate`` changes,
but x264 only accepts a new bitrate up to the ``maxrate`` it was opened with, and PyAV cannot change
``maxrate`` live. So lowering the bitrate is applied live on the next frame; raising it above the
opening ceiling (``rate_headroom`` x the bitrate at opening) re-opens the encoder, which makes the
next frame an IDR (``FrameRecord.reopened``).

Frame-rate compensation: FFmpeg sets x264 to constant-frame-rate rate control, budgeting each frame
``bitrate / nominal_fps``. Sending only ``fps`` of ``nominal_fps`` frames would silently cut the
real bitrate by ``fps / nominal_fps``, so the encoder is given ``kbps * nominal_fps / fps``: the
same bits per second land on fewer, better frames.

Region of interest: FFmpeg's ``addroi`` filters in an ``av.filter.Graph`` attach the nested rings
of :func:`artic_rl.video.roi.roi_rings` as side data; libx264 honours them with ``aq-mode`` >= 1.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
import numpy as np

from artic_rl.video.quality import frame_quality
from artic_rl.video.roi import ROI_LEVELS, Region, roi_rings

MS_PER_S = 1000.0
BITS_PER_BYTE = 8
BITS_PER_KBIT = 1000
_TIME_BASE = Fraction(1, 1000)  # pts in milliseconds
_START_CODE = b"\x00\x00\x01"
QP_BLOCK = 16  # the QP map's block size (H.264 macroblocks)


@dataclass(frozen=True)
class EncoderSettings:
    """What stays fixed for an encoder's life (changing these means a new encoder)."""

    width: int
    height: int
    codec: str = "libx264"  # libx264 honours ROI; libx265 / libvpx-vp9 encode without it
    preset: str = "veryfast"
    nominal_fps: float = 30.0  # source frame rate the rate controller budgets by
    vbv_buffer_s: float = 0.5  # VBV buffer in real seconds of the bitrate at opening ...
    vbv_min_frames: float = 2.0  # ... but at least this many frame intervals at the sent rate
    vbv_init: float = 1.0  # initial VBV fill (x264 vbv-init)
    qcomp: float = 0.0  # x264 qcomp: 0 = every frame gets the budget (CBR), 0.6 = x264's default
    x264_params: str = ""  # extra x264 parameters, "key=value:key=value" (libx264 only)
    rate_headroom: float = 1.0  # opening ceiling = headroom x bitrate; above it -> re-open (IDR)
    intra_refresh: bool = False  # periodic intra refresh instead of IDR frames
    keyint: int = 0  # frames between periodic keyframes; 0 = only on request / re-open
    threads: int = 1
    measure_quality: bool = False  # decode each frame and record PSNR / SSIM
    full_frame_ssim: bool = True  # False: SSIM of the regions only (faster; frame SSIM = NaN)
    export_qp: bool = False  # record the decoder's QP map (venc_params) mean, frame and ROI


@dataclass(frozen=True)
class FrameRecord:
    """What happened to one encoded frame. Quality fields are NaN unless measured."""

    index: int  # encoded frame number from 0
    pts_ms: float
    size_bytes: int
    frame_type: str  # "I" (IDR / intra frame) or "P"
    keyframe: bool  # a random-access point: an IDR, or the start of an intra-refresh wave
    encode_ms: float  # wall time of the encode call (a measurement, not used in logic)
    kbps: float  # target bitrate when encoded
    fps: float
    roi_level: int
    reopened: bool = False
    psnr_frame_db: float = math.nan
    ssim_frame: float = math.nan
    psnr_roi_db: float = math.nan  # the encoded ROI region (NaN without a region)
    ssim_roi: float = math.nan
    psnr_regions_db: tuple[float, ...] = ()  # the extra quality regions, in order
    ssim_regions: tuple[float, ...] = ()
    qp_frame: float = math.nan  # mean decoded QP (export_qp)
    qp_roi: float = math.nan


@dataclass(frozen=True)
class EncodedFrame:
    """One encoded access unit (Annex B bytes) and its record."""

    data: bytes
    record: FrameRecord
    decoded_y: np.ndarray | None = field(default=None, repr=False)  # when quality is measured

    @property
    def nals(self) -> list[bytes]:
        """The NAL units of ``data`` (start codes removed)."""
        return split_nals(self.data)


def split_nals(data: bytes) -> list[bytes]:
    """Cut an Annex-B byte stream at its 3- or 4-byte start codes; returns the NAL units (no start
    codes). Bytes before the first start code are ignored and empty NAL units dropped; zero bytes
    at a NAL unit's end (a 4-byte start code's first byte, trailing_zero_8bits) are not part of it,
    since a NAL unit's last byte is never zero (H.264 7.4.1)."""
    nals: list[bytes] = []
    i = data.find(_START_CODE)
    while i >= 0:
        start = i + 3
        j = data.find(_START_CODE, start)
        nal = data[start : len(data) if j < 0 else j].rstrip(b"\x00")
        if nal:
            nals.append(bytes(nal))
        i = j
    return nals


def achieved_kbps(sizes_bytes: Sequence[int], sent_fps: float) -> float:
    """Bitrate of a run of sent frames: their bits over the time they cover, ``n / sent_fps``.

    Each frame sent at ``sent_fps`` stands for one frame interval, so this is the clip duration
    when the interval divides it, and it does not charge a short clip for a partial last interval.
    """
    if not sizes_bytes:
        return 0.0
    return sum(sizes_bytes) * BITS_PER_BYTE / (len(sizes_bytes) / sent_fps) / BITS_PER_KBIT


def _has_idr(data: bytes) -> bool:
    """Whether an H.264 access unit holds an IDR slice (NAL type 5). With intra refresh, x264 also
    flags the non-IDR frame that starts a refresh wave (recovery point SEI) as a keyframe."""
    return any(nal and nal[0] & 0x1F == 5 for nal in split_nals(data))


class FrameRateGate:
    """Keeps the source frames a target frame rate allows (pure, clock-injected)."""

    def __init__(self, fps: float, tolerance_ms: float = 1.0) -> None:
        self.fps = fps
        self.tolerance_ms = tolerance_ms
        self._next_due_ms: float | None = None

    def keep(self, now_ms: float) -> bool:
        """Whether the frame captured at ``now_ms`` is sent."""
        interval = MS_PER_S / self.fps
        if self._next_due_ms is not None and now_ms < self._next_due_ms - self.tolerance_ms:
            return False
        if self._next_due_ms is None or now_ms - self._next_due_ms >= interval:
            self._next_due_ms = now_ms + interval  # first frame, or fell behind: restart the grid
        else:
            self._next_due_ms += interval
        return True


class Encoder:
    """Live encoder: setters apply from the next frame; ``encode`` returns None for dropped frames."""

    def __init__(
        self,
        settings: EncoderSettings,
        kbps: float,
        fps: float | None = None,
        roi_level: int = 0,
        region: Region | None = None,
        quality_regions: tuple[Region, ...] = (),
    ) -> None:
        self.settings = settings
        self.kbps = float(kbps)
        self.fps = float(fps if fps is not None else settings.nominal_fps)
        self.roi_level = 0
        self.region: Region | None = None
        self.quality_regions = quality_regions
        self._gate = FrameRateGate(self.fps)
        self._ctx: Any = None
        self._ceiling_kbps = 0.0
        self._graph: av.filter.Graph | None = None
        self._decoder: Any = None
        self._want_key = False
        self._count = 0
        self.set_roi(roi_level, region)

    # -- live controls ---------------------------------------------------------------------
    def set_bitrate(self, kbps: float) -> None:
        """Target bitrate in kbps (bits actually sent per second, whatever the frame rate)."""
        if kbps <= 0:
            raise ValueError(f"bitrate must be positive, got {kbps}")
        self.kbps = float(kbps)

    def set_fps(self, fps: float) -> None:
        """Frames per second to send (at most the source's nominal rate)."""
        if not 0 < fps <= self.settings.nominal_fps:
            raise ValueError(f"fps must be in (0, {self.settings.nominal_fps}], got {fps}")
        self.fps = float(fps)
        self._gate.fps = self.fps

    def set_roi(self, level: int, region: Region | None = None) -> None:
        """ROI level (0 = uniform) around ``region`` (pixels); level > 0 needs a region."""
        if level not in ROI_LEVELS:
            raise ValueError(f"unknown ROI level {level}; levels are {ROI_LEVELS}")
        if level > 0 and region is None:
            raise ValueError("an ROI level above 0 needs a region")
        s = self.settings
        clipped = None if region is None else region.clipped(s.width, s.height)
        if (level, clipped) != (self.roi_level, self.region) or self._graph is None:
            self._graph = _roi_graph(level, clipped, s.width, s.height) if level > 0 else None
        self.roi_level, self.region = level, clipped

    def request_keyframe(self) -> None:
        """Make the next encoded frame an IDR frame."""
        self._want_key = True

    @property
    def sent_fps(self) -> float:
        """Frames per second actually sent: the target, at most the source's nominal rate."""
        return min(self.fps, self.settings.nominal_fps)

    @property
    def encoder_kbps(self) -> float:
        """The bitrate given to the rate controller (compensated for the frame rate)."""
        return self.kbps * self.settings.nominal_fps / self.sent_fps

    # -- encoding --------------------------------------------------------------------------
    def encode(self, frame: np.ndarray | av.VideoFrame, now_ms: float) -> EncodedFrame | None:
        """Encode the source frame captured at ``now_ms`` if the frame rate keeps it.

        Args:
            frame: yuv420p as a ``(height * 3 // 2, width)`` uint8 array, or an ``av.VideoFrame``.
            now_ms: capture time in milliseconds (non-decreasing).
        """
        if not self._gate.keep(now_ms):
            return None
        vframe = _as_video_frame(frame)
        reopened = self._ensure_open()
        assert self._ctx is not None
        self._ctx.bit_rate = int(self.encoder_kbps * 1000)
        vframe.pts = int(round(now_ms))
        vframe.time_base = _TIME_BASE
        if self._want_key:
            vframe.pict_type = av.video.frame.PictureType.I
            self._want_key = False
        if self._graph is not None:
            self._graph.vpush(vframe)
            vframe = self._graph.vpull()
        start = time.perf_counter()
        packets = list(self._ctx.encode(vframe))
        encode_ms = (time.perf_counter() - start) * MS_PER_S
        data = b"".join(bytes(p) for p in packets)
        keyframe = any(p.is_keyframe for p in packets)  # a random-access point
        intra = keyframe and (self.settings.codec != "libx264" or _has_idr(data))
        record = FrameRecord(
            index=self._count,
            pts_ms=float(now_ms),
            size_bytes=len(data),
            frame_type="I" if intra else "P",
            keyframe=keyframe,
            encode_ms=encode_ms,
            kbps=self.kbps,
            fps=self.fps,
            roi_level=self.roi_level,
            reopened=reopened,
        )
        self._count += 1
        if not (self.settings.measure_quality or self.settings.export_qp) or not data:
            return EncodedFrame(data, record)
        return self._measure(data, _luma(frame, self.settings), record)

    def _ensure_open(self) -> bool:
        """Open (or re-open above the ceiling) the codec; True when it was (re-)opened."""
        if self._ctx is not None and self.encoder_kbps <= self._ceiling_kbps * (1 + 1e-9):
            return False
        s = self.settings
        self._ceiling_kbps = self.encoder_kbps * max(1.0, s.rate_headroom)
        self._ctx = _open_codec(s, self._ceiling_kbps, self.sent_fps)
        return True

    def _measure(self, data: bytes, ref_y: np.ndarray, record: FrameRecord) -> EncodedFrame:
        if self._decoder is None:
            self._decoder = av.CodecContext.create(_decoder_name(self.settings.codec), "r")
            if self.settings.export_qp:
                self._decoder.options = {"export_side_data": "venc_params"}
        decoded = self._decoder.decode(av.Packet(data))
        if not decoded:
            return EncodedFrame(data, record)
        out = decoded[-1]
        dec_y = out.to_ndarray(format="yuv420p")[: self.settings.height]
        fields: dict[str, object] = {}
        if self.settings.measure_quality:
            regions = ((self.region,) if self.region is not None else ()) + self.quality_regions
            q = frame_quality(ref_y, dec_y, regions, self.settings.full_frame_ssim)
            n_roi = 1 if self.region is not None else 0
            fields.update(
                psnr_frame_db=q.psnr_frame_db,
                ssim_frame=q.ssim_frame,
                psnr_roi_db=q.psnr_roi_db[0] if n_roi else math.nan,
                ssim_roi=q.ssim_roi[0] if n_roi else math.nan,
                psnr_regions_db=q.psnr_roi_db[n_roi:],
                ssim_regions=q.ssim_roi[n_roi:],
            )
        if self.settings.export_qp:
            qp = qp_map(out)
            if qp is not None:
                fields["qp_frame"] = float(qp.mean())
                if self.region is not None:
                    fields["qp_roi"] = float(_region_mean(qp, self.region, QP_BLOCK))
        return EncodedFrame(data, _replace(record, fields), dec_y)

    def close(self) -> None:
        """Release the codec contexts."""
        self._ctx = None
        self._decoder = None


def qp_map(frame: av.VideoFrame, block: int = QP_BLOCK) -> np.ndarray | None:
    """The QP per ``block`` x ``block`` block a decoder exported (``venc_params``), if any.

    H.264 exports one entry per 16x16 macroblock; VP9 exports blocks of several sizes, which are
    painted onto the ``block`` grid (each cell takes the block covering its top-left pixel).
    """
    for sd in _side_data(frame):
        if not hasattr(sd, "qp_map"):
            continue
        try:
            return np.asarray(sd.qp_map(), dtype=np.float64)
        except RuntimeError:  # blocks of varying size
            return _paint_blocks(sd, frame.width, frame.height, block)
    return None


def _paint_blocks(params: Any, width: int, height: int, block: int) -> np.ndarray:
    grid = np.full((-(-height // block), -(-width // block)), float(params.qp))
    for i in range(params.nb_blocks):
        b = params.block_params(i)
        y0, x0 = -(-b.src_y // block), -(-b.src_x // block)
        y1, x1 = -(-(b.src_y + b.h) // block), -(-(b.src_x + b.w) // block)
        grid[y0:y1, x0:x1] = params.qp + b.delta_qp
    return grid


def _side_data(frame: av.VideoFrame) -> Iterator[object]:
    """A frame's side data. PyAV before 18.1.1 iterates the entries themselves, later the types."""
    try:
        container = frame.side_data
        for item in container:
            yield container[item] if isinstance(item, enum.Enum) else item
    except (AttributeError, TypeError):
        return


def _region_mean(qp: np.ndarray, region: Region, block: int) -> float:
    y0, x0 = region.y // block, region.x // block
    y1, x1 = -(-(region.y + region.h) // block), -(-(region.x + region.w) // block)
    return float(qp[y0:y1, x0:x1].mean())


def _replace(record: FrameRecord, fields: dict[str, object]) -> FrameRecord:
    from dataclasses import replace

    return replace(record, **fields)  # type: ignore[arg-type]


def _decoder_name(codec: str) -> str:
    return {"libx264": "h264", "libx265": "hevc", "libvpx-vp9": "vp9"}.get(codec, codec)


def _open_codec(s: EncoderSettings, ceiling_kbps: float, sent_fps: float) -> Any:
    """A CBR low-delay encoder whose bitrate and maxrate are ``ceiling_kbps``.

    ``ceiling_kbps`` is in the rate controller's units (compensated for the frame rate). The VBV
    buffer is sized in real time: ``max(vbv_buffer_s, vbv_min_frames / sent_fps)`` seconds of the
    real bitrate, i.e. that many seconds of ``ceiling_kbps * sent_fps / nominal_fps``.
    """
    ctx: Any = av.CodecContext.create(s.codec, "w")
    ctx.width, ctx.height, ctx.pix_fmt = s.width, s.height, "yuv420p"
    ctx.time_base = _TIME_BASE
    ctx.framerate = Fraction(s.nominal_fps).limit_denominator(1001)
    rate = max(1, int(ceiling_kbps))
    ctx.bit_rate = rate * 1000
    ctx.gop_size = s.keyint if s.keyint > 0 else 1_000_000
    ctx.max_b_frames = 0
    ctx.thread_count = s.threads
    buffer_s = max(s.vbv_buffer_s, s.vbv_min_frames / sent_fps)
    buf = max(1, int(rate * sent_fps / s.nominal_fps * buffer_s))
    opts = {"maxrate": f"{rate}k", "bufsize": f"{buf}k"}
    if s.codec == "libx264":
        params = f"scenecut=0:vbv-init={s.vbv_init}:qcomp={s.qcomp}" + (
            ":intra-refresh=1" if s.intra_refresh else ""
        )
        params += f":{s.x264_params}" if s.x264_params else ""
        opts.update(preset=s.preset, tune="zerolatency", **{"aq-mode": "1", "forced-idr": "1"})
        opts["x264-params"] = params
    elif s.codec == "libx265":
        opts.update(preset=s.preset, tune="zerolatency", **{"x265-params": "log-level=error"})
    elif s.codec == "libvpx-vp9":
        opts.update(deadline="realtime", **{"cpu-used": "8", "lag-in-frames": "0"})
    ctx.options = opts
    ctx.open()
    return ctx


def _roi_graph(level: int, region: Region | None, width: int, height: int) -> av.filter.Graph:
    graph = av.filter.Graph()
    node = graph.add_buffer(
        width=width, height=height, format=av.VideoFormat("yuv420p"), time_base=_TIME_BASE
    )
    for rect, qoffset in roi_rings(level, region, width, height):
        roi = graph.add("addroi", f"x={rect.x}:y={rect.y}:w={rect.w}:h={rect.h}:qoffset={qoffset}")
        node.link_to(roi)
        node = roi
    sink = graph.add("buffersink")
    node.link_to(sink)
    graph.configure()
    return graph


def _as_video_frame(frame: np.ndarray | av.VideoFrame) -> av.VideoFrame:
    if isinstance(frame, av.VideoFrame):
        return frame if frame.format.name == "yuv420p" else frame.reformat(format="yuv420p")
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="yuv420p")


def _luma(frame: np.ndarray | av.VideoFrame, s: EncoderSettings) -> np.ndarray:
    if isinstance(frame, av.VideoFrame):
        return frame.to_ndarray(format="yuv420p")[: s.height]
    return frame[: s.height]

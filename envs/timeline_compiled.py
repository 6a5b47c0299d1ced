"""The timeline on the compiled backend: the reference's numbers, an interval in one kernel call.

:class:`CompiledTimeline` is :class:`~artic_rl.envs.timeline.Timeline` with its per-interval work
in :mod:`~artic_rl.envs._timeline_kernels` (numba), over arrays that hold that state, and gives
the same numbers bit for bit. With the ``artic`` receiver one call runs the interval (frame grid,
keyframes, frame sizes, packets, pacer, link, receiver, packet and frame reports); so does one
with the ``webrtc`` receiver (the frames into the compiled transport,
:mod:`~artic_rl.envs.webrtc_compiled`, its event loop, the frames' fates and the transmissions
out of it), Python taking over only for the rarer turns (tables to grow, a link run in Python,
the receiver's keyframe requests). One call each gives the feedback's transport part and the
MLLM's samples.
Python keeps what reads models (the answers' and samples' accuracy, the report's question fields:
the reference's own methods). The kernel draws the frame sizes' residuals and the link's
independent loss from the episode's generator itself, advancing its state as numpy does
(:func:`_generator_views`; Python draws where the generator is not numpy's PCG64).

The scalar attributes the reference keeps (``n_frames``, ``last_key_idx``, ...) live in the
kernel's arrays (read and written through :class:`_Scalar`), the per-frame lists are read from its
tables, and the decodable frames are mirrored into the reference's
:class:`~artic_rl.receiver.DecodeLog` once per interval; the reference's pacer (``artic``), decode
chain, loss notices and sampler are unused.

The ``artic`` receiver's link runs inside the kernel when it is a plain compiled
:class:`~artic_rl.net.Link` without per-segment loss or delay and with at most independent loss
(its kernel, on its own buffers; the kernel then holds the link's counters, queue and last send
time, and writes them back when the link changes or :meth:`CompiledTimeline.sync_link` asks); any
other (bursty loss, a test's wrapper) gets the interval's batch from Python, as the reference
hands it over.
"""

from __future__ import annotations

import ctypes
import math
import sys
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from artic_rl.envs import _timeline_kernels as k
from artic_rl.envs import _webrtc_kernels as wk
from artic_rl.envs.timeline import MS_PER_S, EpisodePlan, SampleStats, Timeline
from artic_rl.envs.webrtc_compiled import CompiledWebRtcTransport
from artic_rl.net import Link, Trace
from artic_rl.net.loss import BernoulliLoss
from artic_rl.net.trace import MTU_BYTES
from artic_rl.sender.actions import SenderAction
from artic_rl.sender.feedback import FeedbackReport, FrameReports, PacketReports
from artic_rl.sender.pacer import BITS_PER_BYTE
from artic_rl.video.extended import ExtendedProfile
from artic_rl.video.profile import CodecProfile

if TYPE_CHECKING:
    from artic_rl.envs.video_chat import VideoChatEnv

MAX_CELLS = 4096  # profile rows kept per environment (the action grid has 480 settings)
FRAME_ROWS = 2048  # initial per-frame table rows (60 s at 30 fps fit; it doubles when full)
LIST_ROWS = 512  # initial rows of each pending list (a power of two; they double when short)
PACKET_ROWS = 256  # initial scratch room for an interval's packets (doubles when short)
FEEDBACK_SLOTS = 1 << 14  # slots of each feedback report pool (a fresh pool when one is full)
_NO_QUEUE = np.zeros(1, dtype=np.int64)


def supports(env: VideoChatEnv, link: Link, receiver: str) -> bool:
    """Whether the compiled timeline models this episode: a compiled link (for the ``webrtc``
    receiver: its compiled transport, which the timeline's default configuration gets) and a
    profile whose frame sizes the kernel restates."""
    profile = env.profile
    measured = profile.profile if type(profile) is ExtendedProfile else profile
    return (
        receiver in ("artic", "webrtc")
        and getattr(link, "backend", "python") == "compiled"
        and type(measured) is CodecProfile
    )


class _Scalar:
    """A reference attribute kept in the kernel's state: ``f[index]`` (float) or ``i[index]``."""

    def __init__(self, name: str) -> None:
        self.index = getattr(k, name)
        self.float = name.startswith("F_")

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return (obj._f if self.float else obj._i).item(self.index)  # a Python float or int

    def __set__(self, obj: Any, value: float) -> None:
        (obj._f if self.float else obj._i)[self.index] = value


class _Column:
    """A reference per-frame list, read from the kernel's frame table (a fresh list)."""

    def __init__(self, column: int) -> None:
        self.column = column

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return obj._fr[: obj._i[k.I_N_FRAMES], self.column].tolist()

    def __set__(self, obj: Any, value: list[float]) -> None:
        if value:  # the reference's constructor starts it empty; nothing else writes it
            raise AttributeError("the compiled timeline's frame table is written by its kernel")


class _Decoded:
    """A reference per-shown-frame list (``webrtc`` receiver), read from the decoded table."""

    def __init__(self, column: int) -> None:
        self.column = column

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        if obj.transport is None:
            return []
        return obj._dl[: obj._i[k.I_N_DECODED], self.column].tolist()

    def __set__(self, obj: Any, value: list[float]) -> None:
        if value:  # the reference's constructor starts it empty; nothing else writes it
            raise AttributeError("the compiled timeline's decoded table is written by its kernel")


class CompiledTimeline(Timeline):
    """:class:`~artic_rl.envs.timeline.Timeline` over the kernel's arrays, either receiver."""

    n_frames = _Scalar("I_N_FRAMES")
    last_key_idx = _Scalar("I_LAST_KEY_IDX")
    seq = _Scalar("I_SEQ")
    next_frame_ms = _Scalar("F_NEXT_FRAME")
    last_frame_ms = _Scalar("F_LAST_FRAME")
    last_key_ms = _Scalar("F_LAST_KEY_MS")
    interval_loss = _Scalar("F_INTERVAL_LOSS")
    f_capture = _Column(k.FC_CAPTURE)
    f_key_ms = _Column(k.FC_KEY)
    f_decodable = _Column(k.FC_DEC)
    rtx_wait_ms = _Decoded(k.DL_RTX_WAIT)
    hold_ms = _Decoded(k.DL_HOLD)

    def __init__(
        self,
        env: VideoChatEnv,
        plan: EpisodePlan,
        link: Link,
        trace: Trace,
        np_random: np.random.Generator,
        receiver: str = "artic",
    ) -> None:
        if not supports(env, link, receiver):
            raise ValueError("the compiled timeline needs a compiled link and a measured profile")
        self._f = np.zeros(k.N_F)
        self._f[k.F_REGION_MS] = math.nan  # each frame's capture (set_decision)
        self._i = np.zeros(k.N_I, dtype=np.int64)
        super().__init__(env, plan, link, trace, np_random, receiver)
        f = self._f
        f[k.F_LAST_DEC] = self.chain.last_decodable_ms
        f[k.F_LAST_PLI] = -math.inf
        self._p = _params(env, link, self)
        self._p_sent_tail = int(self._p[k.P_W_I_SENT_TAIL])
        if receiver == "webrtc" and not isinstance(self.transport, CompiledWebRtcTransport):
            raise ValueError("the compiled timeline's webrtc receiver needs the compiled transport")
        self._plan = np.array(
            [self.book.region_start_ms, plan.roi_hit.astype(np.float64)], dtype=np.float64
        ).reshape(2, len(self.book.region_start_ms))
        self._fr = np.zeros((FRAME_ROWS, k.N_FC))
        self._dl = np.zeros((FRAME_ROWS, k.N_DL))
        self._q = np.zeros((k.N_LISTS, LIST_ROWS, k.N_Q))
        per_interval = int(env.interval_ms * env.capture_fps / MS_PER_S) + 2
        self._sc = np.zeros((k.N_SC, max(PACKET_ROWS, per_interval)))
        self._sci = np.zeros((k.N_SCI, self._sc.shape[1]), dtype=np.int64)
        self._fb_rows = np.zeros((PACKET_ROWS, k.N_Q))  # the feedback's scratch rows
        self._fb_ints = np.empty(FEEDBACK_SLOTS, dtype=np.int64)  # the feedback's report pools
        self._fb_floats = np.empty(FEEDBACK_SLOTS)
        # the profile's rows by query, kept by the environment across its episodes (read-only)
        self._cells: dict[tuple[float, float, int], np.ndarray] = env.__dict__.setdefault(
            "_compiled_cells", {}
        )
        self._grid_kbps = frozenset(env.codec.bitrates_kbps)  # the rates an action can set
        self._mirrored = 0  # decodable frames copied into self.decoded
        self._link_opps = link._opps
        self._link_table = link._kernel_table
        self._link_start, self._link_size = _NO_QUEUE, _NO_QUEUE  # the kernel link's buffers
        self._kernel_link: Link | None = None  # the link whose state the kernel holds
        f[k.F_SAMPLE_NEXT] = self.sampler.next_ms
        self._i[k.I_SAMPLE_LAST] = -1
        self._samples = np.zeros((int(env.interval_ms * env.mllm_fps / MS_PER_S) + 2, 3))
        self._no_samples = SampleStats(0.0, 0.0)  # immutable: one serves every empty interval
        self._bits, self._buf = _generator_views(np_random)
        self._i[k.I_DRAW] = self._bits.size > 0
        self._cap_period_ms = float(trace.period_ms)

    # --- sender -------------------------------------------------------------------------------
    def send_interval(self, act: SenderAction, t0: float, t1: float) -> int:
        """Encode, packetise, pace and send the interval's frames; returns the bytes put on the wire."""
        self.set_decision(t0)
        self._f[k.F_REGION_MS] = self.region_ms
        key = (act.rate_kbps, act.fps, act.roi_level)
        cell = self._cells.get(key)
        if cell is None:
            cell = self._cell(*key)
            if len(self._cells) < MAX_CELLS and act.rate_kbps in self._grid_kbps:
                self._cells[key] = cell  # the encoder's lagging rates are one-offs: not kept
        if self.transport is not None:
            return self._send_webrtc(act, t0, t1, cell)
        if self.link is not self._kernel_link:
            self._hand_over_link()
        status = k.send_interval(
            t0, t1, act.rate_kbps, act.fps, act.roi_level, cell, self._f, self._i, self._p,
            self._plan, self._fr, self._dl, self._q, self._sc, self._sci, self._bits, self._buf,
            self._link_opps, self._link_table, self._link_start, self._link_size,
        )  # fmt: skip
        if status != k.DONE:
            self._finish_interval(status, act, t0, t1, cell)
        if self._i[k.I_N_DECODED] != self._mirrored:
            self._mirror_decoded()
        return int(self._i[k.I_SENT_BYTES])

    def _finish_interval(
        self, status: int, act: SenderAction, t0: float, t1: float, cell: np.ndarray
    ) -> None:
        """The interval's rarer turns: scratch and tables to grow, draws from Python, the batch
        through the Python link."""
        f, i = self._f, self._i
        while status != k.DONE:
            if status == k.NEED_SCRATCH:  # more frames than the scratch holds (nothing changed)
                self._grow_scratch(2 * self._sc.shape[1])
                status = k.send_interval(
                    t0, t1, act.rate_kbps, act.fps, act.roi_level, cell, f, i, self._p,
                    self._plan, self._fr, self._dl, self._q, self._sc, self._sci, self._bits,
                    self._buf, self._link_opps, self._link_table, self._link_start,
                    self._link_size,
                )  # fmt: skip
                continue
            if status == k.NEED_DRAWS:  # the residuals, as CodecProfile.frame_sizes_bytes draws
                n = int(i[k.I_N_TIMES])
                pool = cell.shape[0] - k.C_POOL
                self._sci[k.SCI_DRAW, :n] = self.rng.integers(0, pool, size=n)
            elif status == k.NEED_ROOM:
                m = int(i[k.I_N_PACKETS])
                link = self._kernel_link
                if link is not None and int(i[k.I_L_TAIL]) + m > self._link_start.size:
                    self._link_out(link)
                    link._reserve(m)  # compacts or grows: no simulated number depends on it
                    self._link_in(link)
                self._grow(m, int(i[k.I_N_TIMES]))
            else:  # NEED_LINK or DECLINED: the Python link (it raises what it refuses)
                link = self._kernel_link
                if link is not None:
                    self._link_out(link)
                m = int(i[k.I_N_PACKETS])
                self._sc[k.SC_ARR, :m] = self.link.send_list(
                    self._sc[k.SC_SEND, :m].tolist(), self._sci[k.SCI_PSIZE, :m].tolist()
                )
                if link is not None:
                    self._link_in(link)
                k.receive(
                    act.rate_kbps, act.fps, act.roi_level, f, i, self._p, self._plan, self._fr,
                    self._dl, self._q, self._sc, self._sci,
                )  # fmt: skip
                return
            status = k.send_frames(
                act.rate_kbps, act.fps, act.roi_level, cell, f, i, self._p, self._plan,
                self._fr, self._dl, self._q, self._sc, self._sci, self._bits, self._link_opps,
                self._link_table, self._link_start, self._link_size,
            )  # fmt: skip

    def _send_webrtc(self, act: SenderAction, t0: float, t1: float, cell: np.ndarray) -> int:
        """The interval with the ``webrtc`` receiver: the frames into the compiled transport, its
        run and the fates and transmissions out of it, one kernel call
        (:func:`~artic_rl.envs._timeline_kernels.interval_webrtc`) unless a step needs Python
        (:meth:`_finish_webrtc`)."""
        tr = self.transport
        assert isinstance(tr, CompiledWebRtcTransport)
        f, i = self._f, self._i
        gated = tr.gate_keyframe_requests(t1)  # honoured requests make the next frame a keyframe
        if gated:
            self._push(k.L_PLI, [(t, float(sys.maxsize)) for t in gated])
        pacing_kbps = self.env.pacing_factor * act.rate_kbps
        stage, status = k.interval_webrtc(
            t0, t1, act.rate_kbps, act.fps, act.roi_level, pacing_kbps, cell, f, i, self._p,
            self._plan, self._fr, self._dl, self._q, self._sc, self._sci, self._bits, self._buf,
            tr.f, tr.i, tr.p, tr.pk_f, tr.pk_i, tr.fr_f, tr.fr_i, tr.qf, tr.qi, tr.shown_f,
            tr.shown_i, *tr.link_arrays(),
        )  # fmt: skip
        if stage != k.DONE:
            self._finish_webrtc(stage, status, act, t0, t1, cell, pacing_kbps)
        if i.item(k.I_N_DECODED) != self._mirrored:
            self._mirror_decoded()
        return i.item(k.I_SENT_BYTES)

    def _finish_webrtc(
        self,
        stage: int,
        status: int,
        act: SenderAction,
        t0: float,
        t1: float,
        cell: np.ndarray,
        pacing_kbps: float,
    ) -> None:
        """The rest of a ``webrtc`` interval from where :func:`~artic_rl.envs._timeline_kernels.interval_webrtc`
        stopped (``stage``, with that step's ``status``): scratch, tables and lists to grow,
        draws from Python, the batch through the Python link, the receiver's keyframe requests."""
        tr = self.transport
        assert isinstance(tr, CompiledWebRtcTransport)
        f, i = self._f, self._i
        if stage == k.AT_SEND:
            while status != k.DONE:
                if status == k.NEED_SCRATCH:
                    self._grow_scratch(2 * self._sc.shape[1])
                    status = k.send_interval_webrtc(
                        t0, t1, act.rate_kbps, act.fps, act.roi_level, cell, f, i, self._p,
                        self._plan, self._fr, self._q, self._sc, self._sci, self._bits,
                        self._buf, tr.i, tr.pk_f, tr.pk_i, tr.qi, tr.fr_i.shape[0],
                    )  # fmt: skip
                    continue
                n = int(i[k.I_N_TIMES])
                if status == k.NEED_DRAWS:  # the residuals, as CodecProfile.frame_sizes_bytes draws
                    pool = cell.shape[0] - k.C_POOL
                    self._sci[k.SCI_DRAW, :n] = self.rng.integers(0, pool, size=n)
                else:  # NEED_ROOM: this frame table, the scratch, the transport's tables
                    self._grow(0, n)
                    self._grow_scratch(int(i[k.I_N_PACKETS]))
                    tr._grow_tables(int(i[k.I_N_FRAMES]) + n - 1, int(i[k.I_N_PACKETS]))
                status = k.enqueue_frames(
                    act.rate_kbps, act.fps, act.roi_level, cell, f, i, self._p, self._plan,
                    self._fr, self._q, self._sc, self._sci, tr.i, tr.pk_f, tr.pk_i, tr.qi,
                    tr.fr_i.shape[0],
                )  # fmt: skip
            tr._run(t1, pacing_kbps, act.rate_kbps)
        elif stage == k.AT_RUN:
            tr._resume(status, t1, pacing_kbps, act.rate_kbps)
        elif stage == k.AT_OUTBOX:
            tr._take_outboxes()
        if tr.plis_sent:
            fb_ms = self.env.feedback_delay_ms  # a PLI leaves at once (no feedback tick)
            self._push(k.L_PLI_REP, [(t + fb_ms, 0.0) for t in tr.plis_sent])
            tr.plis_sent = []
        while k.receive_webrtc(
            f, i, self._p, self._fr, self._dl, self._q, self._sc, tr.i, tr.qf, tr.qi,
            tr.shown_f, tr.shown_i,
        ) != k.DONE:  # fmt: skip
            shown, sent = int(tr.i[wk.I_N_SHOWN]), int(tr.i[self._p_sent_tail])
            self._grow_lists(sent + shown + self._live(k.L_PK_WAIT))
            self._grow_scratch(sent)

    def _push(self, lst: int, rows: list[tuple[float, float]]) -> None:
        """Append rows (their first two fields) to a pending list (the Python side's rare ones)."""
        self._grow_lists(len(rows))
        i = self._i
        tail = int(i[k.I_LIST + 2 * lst + 1])
        self._q[lst, tail : tail + len(rows), :2] = rows
        i[k.I_LIST + 2 * lst + 1] = tail + len(rows)

    def _cell(self, kbps: float, fps: float, roi_level: int) -> np.ndarray:
        """The kernel's row for a profile query: the cell's constants, then its residual pool."""
        profile = self.env.profile
        scale = 0.0
        if type(profile) is ExtendedProfile:
            if kbps > profile.top_kbps:
                scale = kbps / profile.top_kbps
                kbps = profile.top_kbps
            profile = profile.profile
        assert type(profile) is CodecProfile
        return profile.sizes_row(kbps, fps, roi_level, scale)

    # --- the link -----------------------------------------------------------------------------
    def _hand_over_link(self) -> None:
        """``self.link`` changed (or the first interval): the link whose state the kernel held
        gets it back, and the new one runs inside the kernel if it can (a plain compiled
        :class:`~artic_rl.net.Link` whose loss, if any, is independent loss from the episode's
        generator, the kernel drawing it), else through Python."""
        if self._kernel_link is not None:
            self._link_out(self._kernel_link)
        link = self.link
        loss = getattr(link, "loss", None)
        inline = (
            type(link) is Link
            and link.backend == "compiled"
            and link._segment_loss is None
            and link._segment_rtt is None
            and (
                loss is None
                or (type(loss) is BernoulliLoss and link.np_random is self.rng and self._bits.size)
            )
        )
        self._p[k.P_L_LOSS] = loss.p if inline and type(loss) is BernoulliLoss else 0.0
        self._i[k.I_INLINE] = inline
        self._kernel_link = link if inline else None
        self._link_start, self._link_size = _NO_QUEUE, _NO_QUEUE
        if inline:
            self._link_in(link)

    def _link_in(self, link: Link) -> None:
        """The link's state into the kernel's; the kernel holds it from now on."""
        i = self._i
        i[k.I_L_HEAD : k.I_L_END + 1] = (link._head, link._tail, link._end_byte)
        i[k.I_L_SENT] = i[k.I_L_DROPPED] = i[k.I_L_LOST] = 0
        self._f[k.F_L_LAST_SEND] = link._last_send_ms
        self._link_start, self._link_size = link._q_start, link._q_size

    def _link_out(self, link: Link) -> None:
        """The kernel's link state back into the link object."""
        i = self._i
        head, tail, end, sent, dropped = i[k.I_L_HEAD : k.I_L_DROPPED + 1].tolist()
        link._head, link._tail, link._end_byte = head, tail, end
        link.packets_sent += sent
        link.packets_dropped += dropped
        link.packets_lost += int(i[k.I_L_LOST])
        link._last_send_ms = float(self._f[k.F_L_LAST_SEND])
        i[k.I_L_SENT] = i[k.I_L_DROPPED] = i[k.I_L_LOST] = 0

    def sync_link(self) -> None:
        """Write the link state the kernel holds back into ``self.link`` (its counters, queue and
        last send; the kernel keeps it in between, so the link object lags until then), and the
        ``webrtc`` transport's (:meth:`~artic_rl.envs.webrtc_compiled.CompiledWebRtcTransport.sync`)."""
        if self._kernel_link is not None:
            self._link_out(self._kernel_link)
            self._link_in(self._kernel_link)
        if isinstance(self.transport, CompiledWebRtcTransport):
            self.transport.sync()

    # --- pickling: the generator's state views point into the generator's memory ---------------
    def __getstate__(self) -> dict[str, Any]:
        self.sync_link()
        state = self.__dict__.copy()
        del state["_bits"], state["_buf"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._bits, self._buf = _generator_views(self.rng)
        self._i[k.I_DRAW] = self._bits.size > 0

    def _mirror_decoded(self) -> None:
        """The interval's decodable frames into the reference's log (answers and samples read it)."""
        n = int(self._i[k.I_N_DECODED])
        if n == self._mirrored:
            return
        rows = self._dl[self._mirrored : n]
        log = self.decoded
        log.frame_id += rows[:, k.DL_FRAME].astype(np.int64).tolist()
        log.decodable_ms += rows[:, k.DL_DEC].tolist()
        log.capture_ms += rows[:, k.DL_CAP].tolist()
        self._mirrored = n

    def _grow(self, packets: int, frames: int = 0) -> None:
        """Room for an interval of ``frames`` frames and ``packets`` packets: the scratch, the
        frame tables and every pending list (live rows moved to the front) as needed."""
        i = self._i
        self._grow_scratch(packets)
        rows = self._fr.shape[0]
        if int(i[k.I_N_FRAMES]) + frames > rows:
            while int(i[k.I_N_FRAMES]) + frames > rows:
                rows *= 2
            fr = np.zeros((rows, k.N_FC))
            dl = np.zeros((rows, k.N_DL))
            fr[: self._fr.shape[0]] = self._fr
            dl[: self._dl.shape[0]] = self._dl
            self._fr, self._dl = fr, dl
        need = packets + frames + self._live(k.L_PK_WAIT) + self._live(k.L_FLOSS)
        self._grow_lists(need)

    def _grow_scratch(self, packets: int) -> None:
        """Scratch rows for ``packets`` (their contents kept: the frame times and draws)."""
        cap = self._sc.shape[1]
        if packets <= cap:
            return
        while packets > cap:
            cap *= 2
        sc = np.zeros((k.N_SC, cap))
        sci = np.zeros((k.N_SCI, cap), dtype=np.int64)
        sc[:, : self._sc.shape[1]] = self._sc
        sci[:, : self._sci.shape[1]] = self._sci
        self._sc, self._sci = sc, sci

    def _live(self, lst: int) -> int:
        return int(self._i[k.I_LIST + 2 * lst + 1] - self._i[k.I_LIST + 2 * lst])

    def _grow_lists(self, need: int) -> None:
        """Every pending list with room for ``need`` more rows, its live rows at the front."""
        i = self._i
        rows = self._q.shape[1]
        most = max(self._live(lst) for lst in range(k.N_LISTS)) + need
        if most <= rows:
            return
        while most > rows:
            rows *= 2
        q = np.zeros((k.N_LISTS, rows, k.N_Q))
        for lst in range(k.N_LISTS):
            head, tail = int(i[k.I_LIST + 2 * lst]), int(i[k.I_LIST + 2 * lst + 1])
            q[lst, : tail - head] = self._q[lst, head:tail]
            i[k.I_LIST + 2 * lst], i[k.I_LIST + 2 * lst + 1] = 0, tail - head
        self._q = q

    # --- receiver / MLLM ----------------------------------------------------------------------
    def _frame_settings(self, f: int) -> tuple[float, float, int, int, float]:
        """Frame ``f``'s rate, frame rate, ROI level, predicted region and capture time."""
        row = self._fr[f]
        return (
            float(row[k.FC_RATE]),
            float(row[k.FC_FPS]),
            int(row[k.FC_ROI]),
            int(row[k.FC_REGION]),
            float(row[k.FC_CAPTURE]),
        )

    def picture_age_ms(self, f: int) -> float:
        row = self._fr[f]
        return float(row[k.FC_CAPTURE] - row[k.FC_KEY])

    def sample_mllm(self, t0: float, t1: float) -> SampleStats:
        """The MLLM's samples in [t0, t1): the freshest decodable frame stands in for a missing one."""
        while True:
            n, n_acc, stale = k.mllm_samples(
                t1, self._f, self._i, self._p, self._plan, self._dl, self._samples
            )
            if n >= 0:
                break
            self._samples = np.zeros((-n, 3))
        if not n:
            return self._no_samples
        acc = [self._accuracy(int(f), int(j), at) for f, j, at in self._samples[:n_acc].tolist()]
        # np.mean's own summation order for more than one sample
        mean = (acc[0] if len(acc) == 1 else float(np.mean(acc))) if acc else 0.0
        return _frozen(SampleStats, mean_accuracy=mean, stale_share=stale / n)

    def capacity_kbps(self, t0: float, t1: float) -> float:
        """Link capacity over [t0, t1) of episode time (privileged: plots and the oracle only):
        the reference's count in one kernel call (the reference's binary search without a table)."""
        if self._cap_table is None:
            return super().capacity_kbps(t0, t1)
        return k.capacity_kbps(
            t0, t1, self.plan.start_ms, self._cap_period_ms, self._cap_opps.shape[0],
            self._cap_table, MTU_BYTES,
        )  # fmt: skip

    # --- feedback -----------------------------------------------------------------------------
    def feedback(self, t_ms: float, sent_bytes: int) -> FeedbackReport:
        """What the sender has learned by ``t_ms`` since the previous report."""
        i = self._i
        while True:
            a, b, n, n_frames, kf = k.feedback(
                t_ms, self._f, i, self._p, self._fr, self._q, self._fb_rows, self._fb_ints,
                self._fb_floats,
            )  # fmt: skip
            if i.item(k.I_FB_STATUS) == k.DONE:
                break
            self._feedback_room()
        ints, floats = self._fb_ints, self._fb_floats
        packets = _frozen(  # views of the pools (reports are read-only; no slot is reused)
            PacketReports,
            seq=ints[a : a + n],
            send_ms=floats[b : b + n],
            arrival_ms=floats[b + n : b + 2 * n],
            size_bytes=ints[a + n : a + 2 * n],
        )
        if n_frames:
            a, b = a + 2 * n, b + 2 * n
            frames = _frozen(
                FrameReports,
                frame_id=ints[a : a + n_frames],
                capture_ms=floats[b : b + n_frames],
                decodable_ms=floats[b + n_frames : b + 2 * n_frames],
            )
        else:
            frames = self._no_frames
        return self._report(t_ms, sent_bytes, packets, frames, kf)

    def _feedback_room(self) -> None:
        """Room for :func:`~artic_rl.envs._timeline_kernels.feedback`: the lists the frame timers'
        notices extend, the scratch rows and the report pools, for every pending report (fresh
        pools when full: the reports handed out keep the old ones)."""
        i = self._i
        self._grow_lists(self._live(k.L_FLOSS))
        n = self._live(k.L_PK) + self._live(k.L_PK_LATE)
        n_frames = self._live(k.L_FR) + self._live(k.L_FR_LATE) + self._live(k.L_FLOSS)
        if max(n, n_frames) > self._fb_rows.shape[0]:
            self._fb_rows = np.zeros((2 * max(n, n_frames), k.N_Q))
        need = 2 * n + 2 * n_frames
        if (
            int(i[k.I_FB_INTS]) + need > self._fb_ints.size
            or int(i[k.I_FB_FLOATS]) + need > self._fb_floats.size
        ):
            self._fb_ints = np.empty(max(FEEDBACK_SLOTS, 2 * need), dtype=np.int64)
            self._fb_floats = np.empty(max(FEEDBACK_SLOTS, 2 * need))
            i[k.I_FB_INTS] = i[k.I_FB_FLOATS] = 0


_Report = TypeVar("_Report", PacketReports, FrameReports, SampleStats)


def _frozen(cls: type[_Report], **fields: Any) -> _Report:
    """``cls(**fields)`` for a report built once per step (a frozen dataclass without
    ``__post_init__``, every field given): the fields go straight into the instance, without the
    frozen ``__init__``'s ``object.__setattr__`` per field (the same object at a third of the
    cost)."""
    report = object.__new__(cls)
    report.__dict__.update(fields)
    return report


def _params(env: VideoChatEnv, link: Link, timeline: Timeline) -> np.ndarray:
    """The kernel's constants ``p``, each from the object that defines it (the pacer's catch-up
    credit is not one: the simulator's packets leave when due, so it never binds)."""
    p = np.zeros(k.N_P)
    values = {
        "CAPTURE_FPS": env.capture_fps,
        "ENCODE": env.encode_ms,
        "PAYLOAD": env.payload_bytes,
        "HEADER": env.header_bytes,
        "PACING": env.pacing_factor,
        "FB": env.feedback_delay_ms,
        "FB_INTERVAL": env.feedback_interval_ms,
        "FRAME_TIMEOUT": timeline.artic.frame_timeout_ms,
        "PLI_INTERVAL": timeline.chain.pli_interval_ms,
        "BITS_PER_BYTE": BITS_PER_BYTE,
        "MS_PER_S": MS_PER_S,
        "MLLM_FPS": timeline.sampler.fps,
        "L_PERIOD": link.trace.period_ms,
        "L_START": link.start_ms,
        "L_DELAY": link.delay_ms,
        "L_MTU": MTU_BYTES,
        "L_LIMIT_PACKETS": link.queue_packets if link.queue_packets is not None else 1 << 62,
        "L_LIMIT_BYTES": link.queue_bytes if link.queue_bytes is not None else 1 << 62,
    }
    for name, value in values.items():
        p[getattr(k, "P_" + name)] = value
    webrtc = {  # the compiled webrtc transport's layout, from its kernel
        "I_SEQ": wk.I_SEQ,
        "I_LAST_RELEASED": wk.I_LAST_RELEASED,
        "I_N_SHOWN": wk.I_N_SHOWN,
        "I_SENT_TAIL": wk.RING + 2 * wk.R_SENT + 1,
        "I_PLI_TAIL": wk.RING + 2 * wk.R_PLI + 1,
        "DONE": wk.DONE,
        "QF_SENT_SEND": wk.QF_SENT_SEND,
        "QF_SENT_ARR": wk.QF_SENT_ARR,
        "QI_SENT_SIZE": wk.QI_SENT_SIZE,
        "QI_SENT_RTX": wk.QI_SENT_RTX,
        "SI_FRAME": wk.SI_FRAME,
        "SI_NACKED": wk.SI_NACKED,
        "SF_COMPLETE": wk.SF_COMPLETE,
        "SF_CONTINUOUS": wk.SF_CONTINUOUS,
        "SF_RELEASE": wk.SF_RELEASE,
        "SF_SINK": wk.SF_SINK,
        "SF_DECIDED": wk.SF_DECIDED,
        "SF_ORIGINAL": wk.SF_ORIGINAL,
    }
    for name, value in webrtc.items():
        p[getattr(k, "P_W_" + name)] = value
    return p


def _generator_views(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's views of a PCG64 generator's state (:func:`~artic_rl.envs._timeline_kernels.pcg64_next64`):
    its 128-bit state and increment as four uint64 words and the struct around them as uint32
    words (the buffered 32-bit half); empty views (the caller draws in Python) for another bit
    generator, or a memory layout other than the one checked here against ``state``."""
    none = (np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.uint32))
    bg = rng.bit_generator
    if type(bg) is not np.random.PCG64:
        return none
    address = bg.ctypes.state_address
    buf = np.ctypeslib.as_array(ctypes.cast(address, ctypes.POINTER(ctypes.c_uint32)), (4,))
    pointer = int(buf[0]) | int(buf[1]) << 32
    bits = np.ctypeslib.as_array(ctypes.cast(pointer, ctypes.POINTER(ctypes.c_uint64)), (4,))
    state = bg.state
    words = [int(w) for w in bits]
    if (
        words[0] | words[1] << 64 != state["state"]["state"]
        or words[2] | words[3] << 64 != state["state"]["inc"]
        or int(buf[2]) != state["has_uint32"]
        or int(buf[3]) != state["uinteger"]
    ):
        return none
    return bits, buf

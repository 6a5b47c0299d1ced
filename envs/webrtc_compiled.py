"""The ``webrtc`` transport on the compiled backend: the reference's numbers, its event loop compiled.

:class:`CompiledWebRtcTransport` has :class:`~artic_rl.envs.webrtc_transport.WebRtcTransport`'s
interface and gives the same numbers bit for bit; its state lives in arrays and one call of
:func:`~artic_rl.envs._webrtc_kernels.run_until` (numba) runs an interval's events. The link
stays the caller's :class:`~artic_rl.net.Link`: a link without random loss or per-segment delay
runs inside the kernel (its compiled kernel on its own buffers), any other (random loss, a test's
wrapper) gets each batch from Python, as the reference hands it over. Between calls the arrays hold
the pacer's state and that of a link run inside the kernel: the objects lag until
:meth:`CompiledWebRtcTransport.sync` writes it back (the timeline's ``sync_link`` and pickling
call it), so that an interval copies nothing in or out. :func:`make_transport` picks
the implementation by the link's backend; the reference serves where the kernel does not model a
setting (``nack_send_delay_ms > 0``). ``transport.rx`` is a snapshot of the receiver's jitter
buffer as the reference's object (for the fidelity report), not a live receiver.
"""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np

from artic_rl.envs.webrtc_transport import WebRtcTransport
from artic_rl.net import Link
from artic_rl.net.trace import MTU_BYTES
from artic_rl.receiver import jitter, timing
from artic_rl.receiver.config import WebRtcReceiverConfig
from artic_rl.receiver.webrtc import ShownFrame, WebRtcReceiver
from artic_rl.sender.pacer import BITS_PER_BYTE, Pacer
from artic_rl.sender.rtx import KeyframeGate, WebRtcSenderConfig

QUEUE_SLOTS = 4096  # initial ring size (a power of two; it doubles when an event may not fit)
PACKET_ROWS = 4096  # initial per-packet table size (a power of two; it doubles when full)
FRAME_ROWS = 512  # initial per-frame table size (the same)
LINK_ROOM = 1024  # the link buffer's room before each call (a batch beyond it goes through Python)
_READ_ONLY = np.zeros(1, dtype=np.int64)
_READ_ONLY.flags.writeable = False
# the kernel's link arrays when the link is not run inside it (the same types: one compiled form)
_NO_LINK = (_READ_ONLY, _READ_ONLY, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))


def make_transport(
    link: Link,
    pacer: Pacer,
    feedback_delay_ms: float,
    receiver_config: WebRtcReceiverConfig | None = None,
    sender_config: WebRtcSenderConfig | None = None,
) -> WebRtcTransport | CompiledWebRtcTransport:
    """The transport of the link's backend: compiled when the link is, else the reference."""
    rc = receiver_config or WebRtcReceiverConfig()
    if getattr(link, "backend", "python") == "compiled" and rc.nack_send_delay_ms == 0.0:
        return CompiledWebRtcTransport(link, pacer, feedback_delay_ms, rc, sender_config)
    return WebRtcTransport(link, pacer, feedback_delay_ms, rc, sender_config)


def _params(
    k: ModuleType,
    link: Link,
    pacer: Pacer,
    fb_ms: float,
    rc: WebRtcReceiverConfig,
    sc: WebRtcSenderConfig,
) -> np.ndarray:
    """The kernel's constants ``p``, each from the module that defines it."""
    p = np.zeros(k.N_P)
    values = {
        "FB": fb_ms,
        "LINK_DELAY": link.delay_ms,
        "CREDIT": pacer.credit_ms,
        "BITS_PER_BYTE": BITS_PER_BYTE,
        "NACK_TICK": rc.nack_tick_ms,
        "NACK_MAX_RETRIES": rc.nack_max_retries,
        "NACK_MAX_LIST": rc.nack_max_list,
        "RTT_DEFAULT": rc.rtt_default_ms,
        "RTT_WINDOW": rc.rtt_window_ms,
        "RTT_REPORT": rc.rtt_report_ms,
        "JITTER_FIXED": float(rc.jitter_model == "fixed"),
        "FIXED_JITTER": rc.fixed_jitter_ms,
        "OS_JITTER": rc.os_jitter_ms,
        "RTT_MULT": rc.rtt_mult,
        "RTT_MULT_CAP": rc.rtt_mult_cap_ms,
        "RTT_MULT_NACKED": rc.rtt_mult_nacked_frames,
        "RTT_MULT_TIMEOUT": rc.rtt_mult_timeout_ms,
        "LOW_FPS": rc.low_fps_hz,
        "HIGH_FPS": rc.high_fps_hz,
        "RENDER_DELAY": rc.render_delay_ms,
        "MIN_PLAYOUT": rc.min_playout_delay_ms,
        "MAX_PLAYOUT": rc.max_playout_delay_ms,
        "DECODE": rc.decode_ms,
        "DECODE_IGNORED": rc.decode_ignored_samples,
        "FAST_FORWARD": rc.fast_forward_ms,
        "DROP_LATE": rc.render_drop_late_ms,
        "FREEZE_TIMEOUT": rc.freeze_timeout_ms,
        "KEY_TIMEOUT": rc.keyframe_timeout_ms,
        "INACTIVE": rc.inactive_ms,
        "KEY_PACKET_RECENT": rc.keyframe_packet_recent_ms,
        "GUARD_BASE": sc.rtx_guard_base_ms,
        "RTX_WINDOW": sc.rtx_window_ms,
        "HIST_MIN": sc.history_min_ms,
        "HIST_RTT_FACTOR": sc.history_rtt_factor,
        "HIST_MIN_PACKETS": sc.history_min_packets,
        "HIST_MAX_FACTOR": sc.history_max_factor,
        "HIST_MAX_PACKETS": sc.history_max_packets,
        "RTX_OVERHEAD": sc.rtx_overhead_bytes,
        "PHI": jitter.PHI,
        "PSI": jitter.PSI,
        "FS_STARTUP": jitter.FS_STARTUP_FRAMES,
        "MAX_FRAME_SIGMA": jitter.MAX_FRAME_SIZE_SIGMA,
        "SIZE_OUTLIER": jitter.SIZE_OUTLIER_SIGMA,
        "DELAY_OUTLIER": jitter.DELAY_OUTLIER_SIGMA,
        "DELAY_CLAMP": jitter.DELAY_CLAMP_SIGMA,
        "ALPHA_COUNT_MAX": jitter.ALPHA_COUNT_MAX,
        "STARTUP_DELAY": jitter.STARTUP_DELAY_SAMPLES,
        "STARTUP_FILTER": jitter.STARTUP_FILTER_FRAMES,
        "NOISE_STD_DEVS": jitter.NOISE_STD_DEVS,
        "NOISE_OFFSET": jitter.NOISE_STD_DEV_OFFSET_MS,
        "MAX_ESTIMATE": jitter.MAX_ESTIMATE_MS,
        "FPS_SAMPLES": jitter.FPS_SAMPLES,
        "MAX_FPS": jitter.MAX_FPS_HZ,
        "MS_PER_S": jitter.MS_PER_S,
        "K_NOISE0": jitter.KALMAN_PROCESS_NOISE[0],
        "K_NOISE1": jitter.KALMAN_PROCESS_NOISE[1],
        "K_MIN_SLOPE": jitter.KALMAN_MIN_SLOPE,
        "TICKS_PER_MS": timing.TICKS_PER_MS,
        "X_IDLE_RESET": timing.EXTRAPOLATOR_IDLE_RESET_MS,
        "X_START_PACKETS": timing.EXTRAPOLATOR_START_PACKETS,
        "X_P_RESET": timing.EXTRAPOLATOR_P_RESET,
        "CUSUM_CLIP": timing.CUSUM_CLIP_TICKS,
        "CUSUM_DRIFT": timing.CUSUM_DRIFT_TICKS,
        "CUSUM_ALARM": timing.CUSUM_ALARM_TICKS,
        "L_PERIOD": link.trace.period_ms,
        "L_START": link.start_ms,
        "L_MTU": MTU_BYTES,
        "L_LIMIT_PACKETS": link.queue_packets if link.queue_packets is not None else 1 << 62,
        "L_LIMIT_BYTES": link.queue_bytes if link.queue_bytes is not None else 1 << 62,
    }
    for name, value in values.items():
        p[getattr(k, "P_" + name)] = value
    if (
        k.F_STARTUP + jitter.FS_STARTUP_FRAMES > k.F_INTERVALS
        or k.F_INTERVALS + jitter.FPS_SAMPLES > k.N_F
    ):
        raise ValueError("the kernel's slots for the jitter estimator's windows are too few")
    return p


class CompiledWebRtcTransport:
    """Sender, link and WebRTC receiver of one episode, as arrays for the compiled kernel."""

    def __init__(
        self,
        link: Link,
        pacer: Pacer,
        feedback_delay_ms: float,
        receiver_config: WebRtcReceiverConfig | None = None,
        sender_config: WebRtcSenderConfig | None = None,
    ) -> None:
        from artic_rl.envs import _webrtc_kernels as k

        rc = receiver_config or WebRtcReceiverConfig()
        sc = sender_config or WebRtcSenderConfig()
        if rc.nack_send_delay_ms > 0.0:
            raise ValueError("the compiled transport models nack_send_delay_ms = 0 only")
        self._k, self._rc = k, rc
        self.link, self.pacer, self.feedback_ms = link, pacer, feedback_delay_ms
        self.gate = KeyframeGate(sc)
        self.p = _params(k, link, pacer, feedback_delay_ms, rc, sc)
        self.f = f = np.zeros(k.N_F)
        self.i = i = np.zeros(k.N_I, dtype=np.int64)
        f[k.F_NEXT_TICK] = math.inf
        f[k.F_TIMEOUT] = rc.keyframe_timeout_ms
        f[[k.F_LAST_PACKET, k.F_LAST_KEY_PACKET, k.F_LAST_SINK, k.F_LAST_NACK]] = -math.inf
        f[k.F_RTT_LAST] = rc.rtt_default_ms
        f[k.F_AVG_SIZE], f[k.F_VAR_SIZE], f[k.F_VAR_NOISE] = (
            jitter.DEFAULT_AVG_FRAME_BYTES,
            100.0,
            4.0,
        )
        f[k.F_K_SLOPE] = jitter.KALMAN_INIT_SLOPE
        f[k.F_K_P00], f[k.F_K_P11] = jitter.KALMAN_INIT_COV
        f[k.F_X_W0], f[k.F_X_P00], f[k.F_X_P11] = (
            timing.TICKS_PER_MS,
            1.0,
            timing.EXTRAPOLATOR_P_RESET,
        )
        i[k.I_KEY_REQUIRED], i[k.I_LAST_RELEASED], i[k.I_MAX_FRAME] = 1, -1, -1
        i[k.I_ALPHA_COUNT] = 1
        # the pacer's state lives here (written back by sync), as does the link's once it runs
        # inside the kernel (_held_link)
        f[k.F_PACER_FREE : k.F_PACER_LEAD + 1] = (pacer.free_ms, pacer._before, pacer._lead)
        self._held_link: Link | None = None
        self.pk_f = np.zeros((PACKET_ROWS, k.N_PF))
        self.pk_i = np.zeros((PACKET_ROWS, k.N_PI), dtype=np.int64)
        self.fr_f = np.zeros((FRAME_ROWS, k.N_FF))
        self.fr_i = np.zeros((FRAME_ROWS, k.N_FI), dtype=np.int64)
        self.fr_i[:, k.FI_ID] = -1
        self.shown_f = np.zeros((FRAME_ROWS, k.N_SF))
        self.shown_i = np.zeros((FRAME_ROWS, k.N_SI), dtype=np.int64)
        self.qf = np.zeros((len(k.QF_RING), QUEUE_SLOTS))
        self.qi = np.zeros((len(k.QI_RING), QUEUE_SLOTS), dtype=np.int64)
        # outboxes for the timeline (the transmissions: take_sent)
        self.plis_sent: list[float] = []  # when the receiver sent each PLI
        self.plis_at_sender: list[float] = []  # when each reached the sender (not yet gated)

    def enqueue_frame(
        self, frame_id: int, capture_ms: float, keyframe: bool, ready_ms: float, sizes: list[int]
    ) -> None:
        """A frame's packets, ready for the pacer at ``ready_ms``."""
        size = np.array(sizes, dtype=np.int64)
        while not self._k.enqueue_frame(
            self.i, self.pk_f, self.pk_i, self.qi, frame_id, capture_ms, keyframe, ready_ms,
            size, self.fr_i.shape[0],
        ):  # fmt: skip
            self._grow_tables(frame_id, len(sizes))

    def take_sent(self) -> tuple[list[float], list[float], list[int], int]:
        """The transmissions since the last call, in send order: send times, arrivals (NaN:
        dropped or lost) and sizes, and the bytes of the retransmissions among them."""
        k, i, qf, qi = self._k, self.i, self.qf, self.qi
        n = int(i[k.RING + 2 * k.R_SENT + 1])  # reset at each call: slots 0..n-1
        i[k.RING + 2 * k.R_SENT + 1] = 0
        size = qi[k.QI_SENT_SIZE, :n]
        return (
            qf[k.QF_SENT_SEND, :n].tolist(),
            qf[k.QF_SENT_ARR, :n].tolist(),
            size.tolist(),
            int(size[qi[k.QI_SENT_RTX, :n] != 0].sum()),
        )

    def gate_keyframe_requests(self, until_ms: float) -> list[float]:
        """The PLIs that reached the sender before ``until_ms`` and that it honours."""
        if not self.plis_at_sender:
            return []
        due = [t for t in self.plis_at_sender if t < until_ms]
        self.plis_at_sender = [t for t in self.plis_at_sender if t >= until_ms]
        return [t for t in sorted(due) if self.gate.accept(t)]

    def run_until(self, t_ms: float, pacing_kbps: float, target_kbps: float) -> list[ShownFrame]:
        """Run every event before ``t_ms``; returns the frames whose fate became known."""
        self._run(t_ms, pacing_kbps, target_kbps)
        return self._shown()

    def _run(self, t_ms: float, pacing_kbps: float, target_kbps: float) -> None:
        k, i = self._k, self.i
        link_arrays = self.link_arrays()
        i[k.I_N_SHOWN] = 0
        status = k.run_until(
            t_ms, pacing_kbps, target_kbps, self.f, i, self.p, self.pk_f, self.pk_i, self.fr_f,
            self.fr_i, self.qf, self.qi, self.shown_f, self.shown_i, *link_arrays,
        )  # fmt: skip
        self._resume(status, t_ms, pacing_kbps, target_kbps)

    def link_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The link arrays for the next call of the kernel's ``run_until``: a link it runs
        inside (a compiled :class:`~artic_rl.net.Link` without random loss or per-segment
        delay; its state handed over when the link changed, its buffer with room for a long
        batch) gives its own, any other placeholders."""
        k, link = self._k, self.link
        inline = (
            type(link) is Link
            and link.backend == "compiled"
            and link.loss is None
            and link._segment_loss is None
            and link._segment_rtt is None
        )
        if (link if inline else None) is not self._held_link:
            self._hand_over(link if inline else None)
        elif inline and self.i.item(k.I_L_TAIL) + LINK_ROOM > link._q_start.size:
            self._make_room()
        return self._link_arrays() if inline else _NO_LINK

    def _resume(self, status: int, t_ms: float, pacing_kbps: float, target_kbps: float) -> None:
        """The rest of a run whose kernel call answered ``status``: the state grown or the batch
        flushed through the Python link, and the kernel called again, until it is done; then the
        keyframe requests the receiver sent."""
        k, i = self._k, self.i
        while status != k.DONE:
            if status == k.NEED_ROOM:
                self._grow_queues()
            else:
                self._flush_python()
            status = k.run_until(
                t_ms, pacing_kbps, target_kbps, self.f, i, self.p, self.pk_f, self.pk_i,
                self.fr_f, self.fr_i, self.qf, self.qi, self.shown_f, self.shown_i,
                *self.link_arrays(),
            )  # fmt: skip
        if i.item(k.RING + 2 * k.R_PLI + 1):
            self._take_outboxes()

    def run_until_fates(
        self, t_ms: float, pacing_kbps: float, target_kbps: float
    ) -> list[tuple[int, float, float, float, float]]:
        """:meth:`run_until`, each frame as (frame_id, sink_ms, retransmission_wait_ms, hold_ms,
        decided_ms), with :class:`~artic_rl.receiver.webrtc.ShownFrame`'s arithmetic (no object
        per frame)."""
        self._run(t_ms, pacing_kbps, target_kbps)
        k = self._k
        n = int(self.i[k.I_N_SHOWN])
        if n == 0:
            return []
        ids = self.shown_i[:n, k.SI_FRAME].tolist()
        nacked = self.shown_i[:n, k.SI_NACKED].tolist()
        out = []
        for fid, nk, (c, cont, rel, _, sink, dec, orig) in zip(
            ids, nacked, self.shown_f[:n].tolist(), strict=True
        ):
            own = c - orig if nk else 0.0  # ShownFrame.retransmission_wait_ms and hold_ms
            out.append((fid, sink, (own if own == own else 0.0) + (cont - c), rel - cont, dec))
        return out

    @property
    def rx(self) -> WebRtcReceiver:
        """The receiver's jitter buffer as the reference's object, for reports (the fidelity
        summary's ``model_state``): a snapshot of the estimator, the RTT reports and the playout
        delay, with the kernel's numbers; its frames, NACK list and timers are not copied."""
        k, f, i, qf = self._k, self.f.tolist(), self.i.tolist(), self.qf
        rx = WebRtcReceiver(self._rc)
        rx.keyframe_required = bool(i[k.I_KEY_REQUIRED])
        rx.last_released, rx.decoded = i[k.I_LAST_RELEASED], i[k.I_DECODED]
        po = rx.playout
        po.jitter_ms, po.current_ms = f[k.F_PO_JITTER], f[k.F_PO_CURRENT]
        po.decode_ms, po._started = f[k.F_PO_DECODE], bool(i[k.I_PO_STARTED])
        slots = np.arange(i[k.RING + 2 * k.R_RTT], i[k.RING + 2 * k.R_RTT + 1]) & (qf.shape[1] - 1)
        sample_ms, sample_rtt = qf[k.QF_RTT_T, slots].tolist(), qf[k.QF_RTT_V, slots].tolist()
        rx.rtt._samples.extend(zip(sample_ms, sample_rtt, strict=True))
        rx.rtt._last_ms = f[k.F_RTT_LAST]
        j = rx.jitter
        j.avg_size, j.var_size, j.max_size = f[k.F_AVG_SIZE], f[k.F_VAR_SIZE], f[k.F_MAX_SIZE]
        j._startup_sizes = f[k.F_STARTUP : k.F_STARTUP + i[k.I_N_STARTUP]]
        j._startup_done = bool(i[k.I_STARTUP_DONE])
        j._prev_size = f[k.F_PREV_SIZE] if i[k.I_HAS_PREV_SIZE] else None
        j.avg_noise, j.var_noise = f[k.F_AVG_NOISE], f[k.F_VAR_NOISE]
        j._alpha_count, j._startup_count = i[k.I_ALPHA_COUNT], i[k.I_STARTUP_COUNT]
        j._prev_estimate, j._filtered = f[k.F_PREV_ESTIMATE], f[k.F_FILTERED]
        j._last_update_ms = f[k.F_LAST_UPDATE] if i[k.I_HAS_LAST_UPDATE] else None
        cap, start = jitter.FPS_SAMPLES, i[k.I_IV_START]
        j._intervals.extend(f[k.F_INTERVALS + (start + n) % cap] for n in range(i[k.I_IV_COUNT]))
        j.nacked_frames, j._last_nack_ms = i[k.I_NACKED_FRAMES], f[k.F_LAST_NACK]
        kal = j.kalman
        kal.slope, kal.offset = f[k.F_K_SLOPE], f[k.F_K_OFFSET]
        kal.p = [[f[k.F_K_P00], f[k.F_K_P01]], [f[k.F_K_P10], f[k.F_K_P11]]]
        return rx

    # --- internals ------------------------------------------------------------------------------
    def _link_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        link = self.link
        return link._opps, link._kernel_table, link._q_start, link._q_size

    def _hand_over(self, link: Link | None) -> None:
        """The kernel holds the state of ``link`` from now on (None: no link, the batches go
        through Python); the link whose state it held gets it back."""
        if self._held_link is not None:
            self._link_out()
        self._held_link = link
        self.i[self._k.I_INLINE_LINK] = link is not None
        if link is not None:
            self._link_in()

    def _make_room(self) -> None:
        """Room in the held link's buffer for a long batch (compacted or grown: no simulated
        number depends on it)."""
        self._link_out()
        self._link_in()

    def _link_in(self) -> None:
        """The held link's state into the kernel's (the link buffer with room for a long batch)."""
        k, link, i = self._k, self._held_link, self.i
        assert link is not None
        if link._tail + LINK_ROOM > link._q_start.size:
            link._reserve(LINK_ROOM)  # compacts or grows: no simulated number depends on it
        i[k.I_L_HEAD : k.I_L_DROPPED + 1] = (link._head, link._tail, link._end_byte, 0, 0)
        self.f[k.F_L_LAST_SEND] = link._last_send_ms

    def _link_out(self) -> None:
        """The kernel's state of the held link back into the link object."""
        k, link, i = self._k, self._held_link, self.i
        assert link is not None
        head, tail, end, sent, dropped = i[k.I_L_HEAD : k.I_L_DROPPED + 1].tolist()
        link._head, link._tail, link._end_byte = head, tail, end
        link.packets_sent += sent
        link.packets_dropped += dropped
        link._last_send_ms = float(self.f[k.F_L_LAST_SEND])
        i[k.I_L_SENT] = i[k.I_L_DROPPED] = 0

    def sync(self) -> None:
        """Write the state the kernel holds between calls back into the objects it belongs to:
        the pacer's, and the link's (its cursor, counters and last send) when it runs inside the
        kernel. Those objects lag until then (nothing but this transport reads them)."""
        k, pacer = self._k, self.pacer
        pacer.free_ms, pacer._before, pacer._lead = self.f[
            k.F_PACER_FREE : k.F_PACER_LEAD + 1
        ].tolist()
        if self._held_link is not None:
            self._link_out()
            self._link_in()

    def _flush_python(self) -> None:
        """The batch through the Python link (as the reference hands it over), the held link's
        state handed back around it."""
        k = self._k
        if self._held_link is not None:
            self._link_out()
        n = int(self.i[k.RING + 2 * k.R_UNSENT + 1] - self.i[k.RING + 2 * k.R_UNSENT])
        send = self.qf[k.QF_UN_SEND, :n].tolist()
        size = self.qi[k.QI_UN_SIZE, :n].tolist()
        self.qf[k.QF_UN_ARR, :n] = self.link.send_list(send, size)
        self.f[k.F_DRAIN] = self.link.drain_ms
        self.i[k.I_FLUSH_READY] = 1
        if self._held_link is not None:
            self._link_in()

    def _take_outboxes(self) -> None:
        k, i = self._k, self.i
        n = int(i[k.RING + 2 * k.R_PLI + 1])  # reset at each call: slots 0..n-1
        if n:
            plis = self.qf[k.QF_PLI, :n].tolist()
            self.plis_sent += plis
            self.plis_at_sender += [t + self.feedback_ms for t in plis]
            i[k.RING + 2 * k.R_PLI + 1] = 0

    def _shown(self) -> list[ShownFrame]:
        k = self._k
        n = int(self.i[k.I_N_SHOWN])
        if n == 0:
            return []
        ids = self.shown_i[:n, k.SI_FRAME].tolist()
        nacked = (self.shown_i[:n, k.SI_NACKED] != 0).tolist()
        rows = self.shown_f[:n].tolist()
        return [
            ShownFrame(fid, c, cont, rel, ren, sink, nk, dec, orig)
            for fid, nk, (c, cont, rel, ren, sink, dec, orig) in zip(ids, nacked, rows, strict=True)
        ]

    def _grow_queues(self) -> None:
        """Double the rings, each item to its slot in the larger ones."""
        k, i = self._k, self.i
        q = self.qf.shape[1]
        qf = np.zeros((self.qf.shape[0], 2 * q))
        qi = np.zeros((self.qi.shape[0], 2 * q), dtype=np.int64)
        for new, old, rings in ((qf, self.qf, k.QF_RING), (qi, self.qi, k.QI_RING)):
            for row, r in enumerate(rings):
                pos = np.arange(i[k.RING + 2 * r], i[k.RING + 2 * r + 1])
                new[row, pos & (2 * q - 1)] = old[row, pos & (q - 1)]
        self.qf, self.qi = qf, qi

    def _grow_tables(self, frame_id: int, n_packets: int) -> None:
        """Double the per-packet table (the live sequence numbers keep their values) and the
        per-frame one (the frames from the last released on)."""
        k, i = self._k, self.i
        rows = self.pk_f.shape[0]
        lo = int(k.live_seq(i, self.pk_i, self.qi))
        if i[k.I_SEQ] + n_packets - 1 - lo >= rows:
            seqs = np.arange(lo, i[k.I_SEQ])
            pk_f = np.zeros((2 * rows, k.N_PF))
            pk_i = np.zeros((2 * rows, k.N_PI), dtype=np.int64)
            pk_f[seqs & (2 * rows - 1)] = self.pk_f[seqs & (rows - 1)]
            pk_i[seqs & (2 * rows - 1)] = self.pk_i[seqs & (rows - 1)]
            self.pk_f, self.pk_i = pk_f, pk_i
        rows = self.fr_i.shape[0]
        if frame_id - i[k.I_LAST_RELEASED] >= rows - 2:
            fr_f = np.zeros((2 * rows, k.N_FF))
            fr_i = np.zeros((2 * rows, k.N_FI), dtype=np.int64)
            fr_i[:, k.FI_ID] = -1
            live = self.fr_i[:, k.FI_ID] >= max(int(i[k.I_LAST_RELEASED]), 0)
            ids = self.fr_i[live, k.FI_ID]
            fr_f[ids & (2 * rows - 1)] = self.fr_f[live]
            fr_i[ids & (2 * rows - 1)] = self.fr_i[live]
            self.fr_f, self.fr_i = fr_f, fr_i
            self.shown_f = np.zeros((2 * rows, k.N_SF))
            self.shown_i = np.zeros((2 * rows, k.N_SI), dtype=np.int64)

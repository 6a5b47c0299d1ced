"""Compiled kernel of the ``webrtc`` transport: :class:`~artic_rl.envs.webrtc_transport.WebRtcTransport`
over arrays, its whole event loop in one call.

The rules are those of the reference, restated statement for statement and in the same
floating-point order (no ``fastmath``), so every number is the reference's bit for bit (the tests
compare whole episodes): the transport's loop (:mod:`~artic_rl.envs.webrtc_transport`), the pacer
(:mod:`~artic_rl.sender.pacer`), the packet history and RTX limiter (:mod:`~artic_rl.sender.rtx`),
and the receiver (:mod:`~artic_rl.receiver.webrtc`, ``nack``, ``jitter``, ``timing``). Python's
``min``/``max`` keep their first argument on ties (:func:`pymin`, :func:`pymax`), as here.

State (owned by :class:`~artic_rl.envs.webrtc_transport.CompiledWebRtcTransport`):

- ``f`` (float64) and ``i`` (int64): the scalars, indexed by the ``F_*`` and ``I_*`` constants;
  ``p`` (float64): the constants of the receiver, sender and link (``P_*``; the cache is keyed on
  this file only, so nothing comes from another module's globals);
- ``pk_f``/``pk_i``: per packet, indexed by ``seq & (rows - 1)`` (a ring over the live sequence
  numbers): the packet (frame, first and last sequence number, capture time, keyframe, size, ready
  time), its entry in the sender's history (``[I_HIST_LO, I_MEDIA_HEAD)`` are stored, in order),
  whether the receiver has it, and its NACK entry;
- ``fr_f``/``fr_i``: per frame, indexed by ``frame_id & (rows - 1)``: the receiver's frame buffer
  (``FR_PRESENT`` with the frame id) and whether it is in the continuous list (``FR_IN_CONT``;
  the list is those frames in id order);
- ``qf``/``qi``: the queues, one row per field, as rings of ``Q`` slots (a power of two) with
  absolute positions ``[head, tail)`` in ``i[RING + 2 r]``: retransmissions waiting for the pacer,
  packets in flight (in arrival order), NACKs on their way to the sender and their sequence
  numbers, the NACK list's two orders, RTT reports, the RTX limiter's window, the batch not yet
  handed to the link, and the outboxes (sent packets, PLIs);
- ``shown_f``/``shown_i``: the frames whose fate became known during the call.

:func:`run_until` stops with ``NEED_ROOM`` (a ring or table must grow first) or ``NEED_FLUSH``
(the batch must go through the Python link: random loss, a wrapped link, a full link buffer)
between two events, where its state is consistent; the caller does it and calls again, and the
loop resumes as if uninterrupted (every event time is recomputed from the state).

The kernels allocate nothing, so they are compiled without numba's reference counting
(:data:`kernel`): each helper then takes its arrays as plain views, where the counting would add two
atomic updates per array argument at every helper's entry and exit (the event loop calls helpers of
up to a dozen arrays per packet: several microseconds per interval).
"""

from __future__ import annotations

import math

import numpy as np

from artic_rl.backend import kernel  # every kernel here: cached, no reference counting
from artic_rl.net import _link_kernels as lk

# ---- run_until's answers
DONE, NEED_ROOM, NEED_FLUSH = 0, 1, 2

# ---- f: float scalars
F_DRAIN, F_NEXT_RTT, F_LAST_OWD = 0, 1, 2
F_PACER_FREE, F_PACER_BEFORE, F_PACER_LEAD = 3, 4, 5
F_NEXT_TICK, F_TIMEOUT, F_LAST_PACKET, F_LAST_KEY_PACKET, F_LAST_SINK = 6, 7, 8, 9, 10
F_PREV_COMPLETE, F_PREV_CAPTURE, F_PEND_START, F_PEND_RENDER = 11, 12, 13, 14
F_DEC_DONE, F_DEC_RENDER, F_DEC_START, F_RTT_LAST = 15, 16, 17, 18
F_AVG_SIZE, F_VAR_SIZE, F_MAX_SIZE, F_PREV_SIZE, F_AVG_NOISE, F_VAR_NOISE = 19, 20, 21, 22, 23, 24
F_PREV_ESTIMATE, F_FILTERED, F_LAST_UPDATE, F_LAST_NACK = 25, 26, 27, 28
F_K_SLOPE, F_K_OFFSET, F_K_P00, F_K_P01, F_K_P10, F_K_P11 = 29, 30, 31, 32, 33, 34
F_X_START, F_X_W0, F_X_W1, F_X_P00, F_X_P01, F_X_P10, F_X_P11 = 35, 36, 37, 38, 39, 40, 41
F_X_FIRST_TS, F_X_PREV_TS, F_X_PREV_MS, F_X_POS, F_X_NEG = 42, 43, 44, 45, 46
F_PO_JITTER, F_PO_CURRENT, F_PO_DECODE, F_L_LAST_SEND = 47, 48, 49, 50
F_STARTUP = 51  # the jitter estimator's first frame sizes (FS_STARTUP_FRAMES slots)
F_INTERVALS = 56  # its update intervals, a ring of FPS_SAMPLES slots
N_F = 96

# ---- i: int scalars
I_SEQ, I_MEDIA_HEAD, I_HIST_LO, I_HAS_OWD = 0, 1, 2, 3
I_KEY_REQUIRED, I_LAST_RELEASED, I_DECODED, I_MAX_FRAME = 4, 5, 6, 7
I_HAS_PREV, I_HAS_PENDING, I_PEND_K, I_HAS_DECODING, I_DEC_K = 8, 9, 10, 11, 12
I_HAS_NEWEST, I_NEWEST, I_N_ENTRIES, I_OVERFLOWED, I_N_CONT = 13, 14, 15, 16, 17
I_N_STARTUP, I_STARTUP_DONE, I_HAS_PREV_SIZE, I_ALPHA_COUNT, I_STARTUP_COUNT = 18, 19, 20, 21, 22
I_HAS_LAST_UPDATE, I_IV_COUNT, I_IV_START, I_NACKED_FRAMES = 23, 24, 25, 26
I_X_HAS_FIRST, I_X_UPDATES, I_PO_STARTED, I_LIM_BYTES = 27, 28, 29, 30
I_L_HEAD, I_L_TAIL, I_L_END = 31, 32, 33  # the link's cursor (its kernel's HEAD, TAIL, END_BYTE)
I_L_SENT, I_L_DROPPED, I_FLUSH_READY, I_N_SHOWN, I_INLINE_LINK = 34, 35, 36, 37, 38
RING = 40  # ring r's head and tail: i[RING + 2 r], i[RING + 2 r + 1]
R_RTX, R_FLIGHT, R_NACKQ, R_NSEQ, R_BYNACK, R_BYSEQ = 0, 1, 2, 3, 4, 5
R_RTT, R_LIM, R_UNSENT, R_SENT, R_PLI = 6, 7, 8, 9, 10
N_RINGS = 11
N_I = RING + 2 * N_RINGS

# ---- qf / qi rows, and the ring each belongs to
QF_RTX_READY, QF_FL_ARR, QF_FL_SEND, QF_NQ_T, QF_RTT_T, QF_RTT_V, QF_LIM_T = 0, 1, 2, 3, 4, 5, 6
QF_UN_SEND, QF_UN_ARR, QF_UN_DEP, QF_SENT_SEND, QF_SENT_ARR, QF_PLI = 7, 8, 9, 10, 11, 12
QF_RING = (
    R_RTX,
    R_FLIGHT,
    R_FLIGHT,
    R_NACKQ,
    R_RTT,
    R_RTT,
    R_LIM,
    *(R_UNSENT,) * 3,
    R_SENT,
    R_SENT,
    R_PLI,
)
QI_RTX_SEQ, QI_RTX_SIZE, QI_FL_SEQ, QI_NQ_OFF, QI_NQ_CNT, QI_NSEQ, QI_BYNACK = 0, 1, 2, 3, 4, 5, 6
QI_BYSEQ, QI_LIM_SIZE, QI_UN_SIZE, QI_UN_SEQ, QI_UN_RTX, QI_SENT_SIZE, QI_SENT_RTX = range(7, 14)
QI_RING = (
    *(R_RTX, R_RTX, R_FLIGHT, R_NACKQ, R_NACKQ, R_NSEQ, R_BYNACK, R_BYSEQ, R_LIM),
    *(R_UNSENT, R_UNSENT, R_UNSENT, R_SENT, R_SENT),
)

# ---- per packet
PF_CAPTURE, PF_READY, PF_H_SENT, PF_H_RESENT, PF_NACK_SENT = 0, 1, 2, 3, 4
N_PF = 5
PI_FRAME, PI_FIRST, PI_LAST, PI_KEY, PI_SIZE, PI_RECEIVED, PI_NACK_PRESENT, PI_NACK_RETRIES = range(
    8
)
N_PI = 8

# ---- per frame
FF_CAPTURE, FF_COMPLETE, FF_CONTINUOUS, FF_ORIGINAL = 0, 1, 2, 3
N_FF = 4
FI_ID, FI_PRESENT, FI_FIRST, FI_LAST, FI_KEY, FI_N_RECEIVED, FI_SIZE, FI_NACKED, FI_IN_CONT = range(
    9
)
N_FI = 9

# ---- shown frames (ShownFrame's fields)
SF_COMPLETE, SF_CONTINUOUS, SF_RELEASE, SF_RENDER, SF_SINK, SF_DECIDED, SF_ORIGINAL = range(7)
N_SF = 7
SI_FRAME, SI_NACKED = 0, 1
N_SI = 2

# ---- p: constants
P_FB, P_LINK_DELAY, P_CREDIT, P_BITS_PER_BYTE = 0, 1, 2, 3
P_NACK_TICK, P_NACK_MAX_RETRIES, P_NACK_MAX_LIST = 4, 5, 6
P_RTT_DEFAULT, P_RTT_WINDOW, P_RTT_REPORT = 7, 8, 9
P_JITTER_FIXED, P_FIXED_JITTER, P_OS_JITTER, P_RTT_MULT, P_RTT_MULT_CAP = 10, 11, 12, 13, 14
P_RTT_MULT_NACKED, P_RTT_MULT_TIMEOUT, P_LOW_FPS, P_HIGH_FPS = 15, 16, 17, 18
P_RENDER_DELAY, P_MIN_PLAYOUT, P_MAX_PLAYOUT, P_DECODE, P_DECODE_IGNORED = 19, 20, 21, 22, 23
P_FAST_FORWARD, P_DROP_LATE, P_FREEZE_TIMEOUT, P_KEY_TIMEOUT = 24, 25, 26, 27
P_INACTIVE, P_KEY_PACKET_RECENT = 28, 29
P_GUARD_BASE, P_RTX_WINDOW, P_HIST_MIN, P_HIST_RTT_FACTOR, P_HIST_MIN_PACKETS = 30, 31, 32, 33, 34
P_HIST_MAX_FACTOR, P_HIST_MAX_PACKETS, P_RTX_OVERHEAD = 35, 36, 37
# jitter.py
P_PHI, P_PSI, P_FS_STARTUP, P_MAX_FRAME_SIGMA, P_SIZE_OUTLIER, P_DELAY_OUTLIER = (
    38,
    39,
    40,
    41,
    42,
    43,
)
P_DELAY_CLAMP, P_ALPHA_COUNT_MAX, P_STARTUP_DELAY, P_STARTUP_FILTER = 44, 45, 46, 47
P_NOISE_STD_DEVS, P_NOISE_OFFSET, P_MAX_ESTIMATE, P_FPS_SAMPLES, P_MAX_FPS, P_MS_PER_S = range(
    48, 54
)
P_K_NOISE0, P_K_NOISE1, P_K_MIN_SLOPE = 54, 55, 56
# timing.py
P_TICKS_PER_MS, P_X_IDLE_RESET, P_X_START_PACKETS, P_X_P_RESET = 57, 58, 59, 60
P_CUSUM_CLIP, P_CUSUM_DRIFT, P_CUSUM_ALARM = 61, 62, 63
# the link
P_L_PERIOD, P_L_START, P_L_MTU, P_L_LIMIT_PACKETS, P_L_LIMIT_BYTES = 64, 65, 66, 67, 68
N_P = 72

NAN = math.nan
INF = math.inf


@kernel
def pymin(a: float, b: float) -> float:
    """Python's ``min(a, b)``: ``a`` unless ``b`` is smaller."""
    return b if b < a else a


@kernel
def pymax(a: float, b: float) -> float:
    """Python's ``max(a, b)``: ``a`` unless ``b`` is larger."""
    return b if b > a else a


# ------------------------------------------------------------------ rings


@kernel
def ring_len(i: np.ndarray, r: int) -> int:
    return i[RING + 2 * r + 1] - i[RING + 2 * r]


@kernel
def ring_head(i: np.ndarray, r: int, mask: int) -> int:
    """The slot of ring ``r``'s first item."""
    return i[RING + 2 * r] & mask


@kernel
def ring_push(i: np.ndarray, r: int, mask: int) -> int:
    """A new last item of ring ``r``: its slot."""
    pos = i[RING + 2 * r + 1]
    i[RING + 2 * r + 1] = pos + 1
    return pos & mask


@kernel
def ring_pop(i: np.ndarray, r: int, mask: int) -> int:
    """Remove ring ``r``'s first item: its slot (still readable until the next push)."""
    pos = i[RING + 2 * r]
    i[RING + 2 * r] = pos + 1
    return pos & mask


@kernel
def ring_clear(i: np.ndarray, r: int) -> None:
    i[RING + 2 * r] = 0
    i[RING + 2 * r + 1] = 0


@kernel
def room(i: np.ndarray, q: int, p: np.ndarray) -> bool:
    """Every ring can take one more event's items (a NACK adds up to the list's size)."""
    free = q
    for r in range(N_RINGS):
        free = min(free, q - ring_len(i, r))
    return free >= int(p[P_NACK_MAX_LIST]) + 8


# ------------------------------------------------------------------ pacer (sender/pacer.py)


@kernel
def pacer_next_ms(f: np.ndarray, ready_ms: float) -> float:
    before = f[F_PACER_BEFORE]
    return before + pymax(f[F_PACER_LEAD], ready_ms - before)


@kernel
def pacer_departure(f: np.ndarray, ready_ms: float) -> None:
    d = ready_ms - f[F_PACER_BEFORE]
    if d > f[F_PACER_LEAD]:
        f[F_PACER_LEAD] = d


@kernel
def pacer_sent(
    f: np.ndarray, p: np.ndarray, size_bytes: int, rate_kbps: float, sent_ms: float
) -> None:
    due = f[F_PACER_BEFORE] + f[F_PACER_LEAD]
    late = sent_ms - p[P_CREDIT] - f[F_PACER_BEFORE]
    if late > f[F_PACER_LEAD]:
        f[F_PACER_LEAD] = late
        due = sent_ms - p[P_CREDIT]
    tx = size_bytes * p[P_BITS_PER_BYTE] / rate_kbps
    f[F_PACER_BEFORE] += tx
    f[F_PACER_FREE] = due + tx


# ------------------------------------------------------------------ sender: history, limiter


@kernel
def history_cull(
    f: np.ndarray, i: np.ndarray, p: np.ndarray, pk_f: np.ndarray, now_ms: float, rtt_ms: float
) -> None:
    """PacketHistory._cull: the stored packets are ``[I_HIST_LO, I_MEDIA_HEAD)``."""
    keep_ms = pymax(p[P_HIST_MIN], p[P_HIST_RTT_FACTOR] * rtt_ms)
    max_age_ms = p[P_HIST_MAX_FACTOR] * keep_ms
    mask = pk_f.shape[0] - 1
    while i[I_HIST_LO] < i[I_MEDIA_HEAD]:
        n = i[I_MEDIA_HEAD] - i[I_HIST_LO]
        age = now_ms - pk_f[i[I_HIST_LO] & mask, PF_H_SENT]
        if (
            n > p[P_HIST_MAX_PACKETS]
            or age > max_age_ms
            or (n > p[P_HIST_MIN_PACKETS] and age > keep_ms)
        ):
            i[I_HIST_LO] += 1
        else:
            return


@kernel
def history_resend(
    i: np.ndarray,
    p: np.ndarray,
    pk_f: np.ndarray,
    pk_i: np.ndarray,
    seq: int,
    now_ms: float,
    avg_rtt_ms: float,
) -> int:
    """PacketHistory.resend: the retransmission's size, or -1 (None)."""
    if seq < i[I_HIST_LO] or seq >= i[I_MEDIA_HEAD]:
        return -1
    s = seq & (pk_f.shape[0] - 1)
    if now_ms - pk_f[s, PF_H_RESENT] < p[P_GUARD_BASE] + avg_rtt_ms:
        return -1
    pk_f[s, PF_H_RESENT] = now_ms
    return pk_i[s, PI_SIZE] + int(p[P_RTX_OVERHEAD])


@kernel
def limiter_allow(
    i: np.ndarray,
    p: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    now_ms: float,
    size_bytes: int,
    rate_kbps: float,
) -> bool:
    """RtxLimiter.allow."""
    mask = qf.shape[1] - 1
    window = p[P_RTX_WINDOW]
    while ring_len(i, R_LIM) > 0 and now_ms - qf[QF_LIM_T, ring_head(i, R_LIM, mask)] >= window:
        i[I_LIM_BYTES] -= qi[QI_LIM_SIZE, ring_pop(i, R_LIM, mask)]
    if (i[I_LIM_BYTES] + size_bytes) * p[P_BITS_PER_BYTE] > rate_kbps * window:
        return False
    s = ring_push(i, R_LIM, mask)
    qf[QF_LIM_T, s] = now_ms
    qi[QI_LIM_SIZE, s] = size_bytes
    i[I_LIM_BYTES] += size_bytes
    return True


# ------------------------------------------------------------------ receiver: RTT (nack.py)


@kernel
def rtt_on_sample(
    f: np.ndarray, i: np.ndarray, qf: np.ndarray, now_ms: float, rtt_ms: float
) -> None:
    s = ring_push(i, R_RTT, qf.shape[1] - 1)
    qf[QF_RTT_T, s] = now_ms
    qf[QF_RTT_V, s] = rtt_ms
    f[F_RTT_LAST] = rtt_ms


@kernel
def rtt_estimate(
    f: np.ndarray, i: np.ndarray, p: np.ndarray, qf: np.ndarray, now_ms: float
) -> float:
    """RttEstimate.rtt_ms: the maximum report within the window, else the last one."""
    mask = qf.shape[1] - 1
    while (
        ring_len(i, R_RTT) > 0
        and now_ms - qf[QF_RTT_T, ring_head(i, R_RTT, mask)] > p[P_RTT_WINDOW]
    ):
        ring_pop(i, R_RTT, mask)
    if ring_len(i, R_RTT) == 0:
        return f[F_RTT_LAST]
    best = qf[QF_RTT_V, ring_head(i, R_RTT, mask)]
    for pos in range(i[RING + 2 * R_RTT] + 1, i[RING + 2 * R_RTT + 1]):
        best = pymax(best, qf[QF_RTT_V, pos & mask])
    return best


# ------------------------------------------------------------------ receiver: NACK list (nack.py)


@kernel
def nack_send(
    i: np.ndarray, p: np.ndarray, qf: np.ndarray, qi: np.ndarray, sent_ms: float, off: int, cnt: int
) -> None:
    """The receiver sends a NACK of ``qi[QI_NSEQ]``'s ``[off, off + cnt)``: at the sender F later."""
    s = ring_push(i, R_NACKQ, qf.shape[1] - 1)
    qf[QF_NQ_T, s] = sent_ms + p[P_FB]
    qi[QI_NQ_OFF, s] = off
    qi[QI_NQ_CNT, s] = cnt


@kernel
def nack_clear(i: np.ndarray, pk_i: np.ndarray, qi: np.ndarray) -> None:
    """NackList._clear: every entry is in the sequence-order queue."""
    pmask, qmask = pk_i.shape[0] - 1, qi.shape[1] - 1
    for pos in range(i[RING + 2 * R_BYSEQ], i[RING + 2 * R_BYSEQ + 1]):
        pk_i[qi[QI_BYSEQ, pos & qmask] & pmask, PI_NACK_PRESENT] = 0
    i[I_N_ENTRIES] = 0
    ring_clear(i, R_BYNACK)
    ring_clear(i, R_BYSEQ)


@kernel
def nack_on_packet(
    i: np.ndarray,
    p: np.ndarray,
    pk_f: np.ndarray,
    pk_i: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    seq: int,
    now_ms: float,
) -> int:
    """NackList.on_packet: how often ``seq`` was NACKed; a new gap is NACKed at once."""
    if i[I_HAS_NEWEST] == 0 or seq == i[I_NEWEST] + 1:
        i[I_HAS_NEWEST] = 1
        i[I_NEWEST] = seq
        return 0
    pmask, qmask = pk_i.shape[0] - 1, qi.shape[1] - 1
    if seq <= i[I_NEWEST]:
        s = seq & pmask
        if pk_i[s, PI_NACK_PRESENT]:
            pk_i[s, PI_NACK_PRESENT] = 0
            i[I_N_ENTRIES] -= 1
            return pk_i[s, PI_NACK_RETRIES]
        return 0
    first, n_missing = i[I_NEWEST] + 1, seq - i[I_NEWEST] - 1
    i[I_NEWEST] = seq
    if i[I_N_ENTRIES] + n_missing > p[P_NACK_MAX_LIST]:
        nack_clear(i, pk_i, qi)
        i[I_OVERFLOWED] = 1
        return 0
    for m in range(first, seq):
        qi[QI_BYSEQ, ring_push(i, R_BYSEQ, qmask)] = m
    if p[P_NACK_MAX_RETRIES] > 1:
        for m in range(first, seq):
            s = m & pmask
            pk_i[s, PI_NACK_PRESENT] = 1
            pk_f[s, PF_NACK_SENT] = now_ms
            pk_i[s, PI_NACK_RETRIES] = 1
            qi[QI_BYNACK, ring_push(i, R_BYNACK, qmask)] = m
        i[I_N_ENTRIES] += n_missing
    off = i[RING + 2 * R_NSEQ + 1]
    for m in range(first, seq):
        qi[QI_NSEQ, ring_push(i, R_NSEQ, qmask)] = m
    nack_send(i, p, qf, qi, now_ms, off, n_missing)
    return 0


@kernel
def nack_on_tick(
    i: np.ndarray,
    p: np.ndarray,
    pk_f: np.ndarray,
    pk_i: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    now_ms: float,
    rtt_ms: float,
) -> None:
    """NackList.on_tick, and the receiver's NACK of the entries due (sorted), if any."""
    pmask, qmask = pk_i.shape[0] - 1, qi.shape[1] - 1
    off = i[RING + 2 * R_NSEQ + 1]
    while ring_len(i, R_BYNACK) > 0:
        seq = qi[QI_BYNACK, ring_head(i, R_BYNACK, qmask)]
        s = seq & pmask
        if pk_i[s, PI_NACK_PRESENT]:
            if now_ms - pk_f[s, PF_NACK_SENT] < rtt_ms:
                break
            pk_i[s, PI_NACK_RETRIES] += 1
            pk_f[s, PF_NACK_SENT] = now_ms
            qi[QI_NSEQ, ring_push(i, R_NSEQ, qmask)] = seq
        ring_pop(i, R_BYNACK, qmask)
    end = i[RING + 2 * R_NSEQ + 1]
    for pos in range(off, end):  # NACKed now: to the back, in the same order
        seq = qi[QI_NSEQ, pos & qmask]
        s = seq & pmask
        if pk_i[s, PI_NACK_RETRIES] < p[P_NACK_MAX_RETRIES]:
            qi[QI_BYNACK, ring_push(i, R_BYNACK, qmask)] = seq
        else:
            pk_i[s, PI_NACK_PRESENT] = 0
            i[I_N_ENTRIES] -= 1
    if end == off:
        return
    for pos in range(off + 1, end):  # sorted (insertion sort: nearly in order already)
        seq = qi[QI_NSEQ, pos & qmask]
        j = pos
        while j > off and qi[QI_NSEQ, (j - 1) & qmask] > seq:
            qi[QI_NSEQ, j & qmask] = qi[QI_NSEQ, (j - 1) & qmask]
            j -= 1
        qi[QI_NSEQ, j & qmask] = seq
    nack_send(i, p, qf, qi, now_ms, off, end - off)


@kernel
def nack_clear_up_to(i: np.ndarray, pk_i: np.ndarray, qi: np.ndarray, seq: int) -> None:
    pmask, qmask = pk_i.shape[0] - 1, qi.shape[1] - 1
    while ring_len(i, R_BYSEQ) > 0 and qi[QI_BYSEQ, ring_head(i, R_BYSEQ, qmask)] < seq:
        s = qi[QI_BYSEQ, ring_pop(i, R_BYSEQ, qmask)] & pmask
        if pk_i[s, PI_NACK_PRESENT]:
            pk_i[s, PI_NACK_PRESENT] = 0
            i[I_N_ENTRIES] -= 1
    if i[I_N_ENTRIES] == 0:
        nack_clear(i, pk_i, qi)


# ------------------------------------------------------------------ receiver: jitter (jitter.py)


@kernel
def fps_hz(f: np.ndarray, i: np.ndarray, p: np.ndarray) -> float:
    n = i[I_IV_COUNT]
    if n == 0:
        return 0.0
    cap = int(p[P_FPS_SAMPLES])
    total = 0.0
    for k in range(n):  # oldest first, as sum() over the deque
        total += f[F_INTERVALS + (i[I_IV_START] + k) % cap]
    mean_ms = total / n
    return pymin(p[P_MS_PER_S] / mean_ms, p[P_MAX_FPS]) if mean_ms > 0.0 else 0.0


@kernel
def kalman_update(
    f: np.ndarray, p: np.ndarray, delay_ms: float, ds: float, max_size: float, var_noise: float
) -> None:
    """FrameDelayKalman.update."""
    if max_size < 1.0 or var_noise <= 0.0:
        return
    f[F_K_P00] += p[P_K_NOISE0]
    f[F_K_P11] += p[P_K_NOISE1]
    mh0 = f[F_K_P00] * ds + f[F_K_P01]
    mh1 = f[F_K_P10] * ds + f[F_K_P11]
    sigma = (300.0 * math.exp(-abs(ds) / max_size) + 1.0) * math.sqrt(var_noise)
    sigma = pymax(sigma, 1.0)
    denom = ds * mh0 + mh1 + sigma
    if abs(denom) < 1e-9:
        return
    k0, k1 = mh0 / denom, mh1 / denom
    residual = delay_ms - (f[F_K_SLOPE] * ds + f[F_K_OFFSET])
    f[F_K_SLOPE] = pymax(f[F_K_SLOPE] + k0 * residual, p[P_K_MIN_SLOPE])
    f[F_K_OFFSET] += k1 * residual
    t00, t01 = f[F_K_P00], f[F_K_P01]
    f[F_K_P00] = (1.0 - k0 * ds) * t00 - k0 * f[F_K_P10]
    f[F_K_P01] = (1.0 - k0 * ds) * t01 - k0 * f[F_K_P11]
    f[F_K_P10] = f[F_K_P10] * (1.0 - k1) - k1 * ds * t00
    f[F_K_P11] = f[F_K_P11] * (1.0 - k1) - k1 * ds * t01


@kernel
def jitter_update_sizes(f: np.ndarray, i: np.ndarray, p: np.ndarray, size: float) -> None:
    n_start = int(p[P_FS_STARTUP])
    if i[I_N_STARTUP] < n_start:
        f[F_STARTUP + i[I_N_STARTUP]] = size
        i[I_N_STARTUP] += 1
    elif i[I_STARTUP_DONE] == 0:
        total = 0.0
        for k in range(n_start):
            total += f[F_STARTUP + k]
        f[F_AVG_SIZE] = total / n_start
        i[I_STARTUP_DONE] = 1
    else:
        phi = p[P_PHI]
        avg = phi * f[F_AVG_SIZE] + (1.0 - phi) * size
        if size < f[F_AVG_SIZE] + p[P_MAX_FRAME_SIGMA] * math.sqrt(f[F_VAR_SIZE]):
            f[F_AVG_SIZE] = avg
        dev = size - avg
        f[F_VAR_SIZE] = pymax(phi * f[F_VAR_SIZE] + (1.0 - phi) * dev * dev, 1.0)
    f[F_MAX_SIZE] = pymax(p[P_PSI] * f[F_MAX_SIZE], size)


@kernel
def jitter_noise(
    f: np.ndarray, i: np.ndarray, p: np.ndarray, deviation: float, now_ms: float
) -> None:
    cap = int(p[P_FPS_SAMPLES])
    if i[I_HAS_LAST_UPDATE]:
        x = now_ms - f[F_LAST_UPDATE]
        if i[I_IV_COUNT] < cap:
            f[F_INTERVALS + (i[I_IV_START] + i[I_IV_COUNT]) % cap] = x
            i[I_IV_COUNT] += 1
        else:  # the deque is full: the oldest goes
            f[F_INTERVALS + i[I_IV_START]] = x
            i[I_IV_START] = (i[I_IV_START] + 1) % cap
    f[F_LAST_UPDATE] = now_ms
    i[I_HAS_LAST_UPDATE] = 1
    count = i[I_ALPHA_COUNT]
    alpha = (count - 1) / count
    i[I_ALPHA_COUNT] = min(count + 1, int(p[P_ALPHA_COUNT_MAX]))
    fps = fps_hz(f, i, p)
    if fps > 0.0:
        scale = 30.0 / fps
        startup = int(p[P_STARTUP_DELAY])
        if i[I_ALPHA_COUNT] < startup:
            n = i[I_ALPHA_COUNT]
            scale = (n * scale + (startup - n)) / startup
        alpha = alpha**scale
    avg = alpha * f[F_AVG_NOISE] + (1.0 - alpha) * deviation
    dev = deviation - f[F_AVG_NOISE]
    f[F_VAR_NOISE] = pymax(alpha * f[F_VAR_NOISE] + (1.0 - alpha) * dev * dev, 1.0)
    f[F_AVG_NOISE] = avg


@kernel
def jitter_update(
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    has_delay: bool,
    delay_ms: float,
    size: float,
    now_ms: float,
) -> None:
    """JitterEstimator.update (``has_delay`` False: ``delay_ms`` is None)."""
    if size <= 0:
        return
    jitter_update_sizes(f, i, p, size)
    if i[I_HAS_PREV_SIZE] == 0 or not has_delay:
        f[F_PREV_SIZE] = size
        i[I_HAS_PREV_SIZE] = 1
        return
    size_delta = size - f[F_PREV_SIZE]
    f[F_PREV_SIZE] = size
    sigma_n = math.sqrt(f[F_VAR_NOISE])
    bound = p[P_DELAY_CLAMP] * sigma_n + 0.5
    delay_ms = pymin(pymax(delay_ms, -bound), bound)
    deviation = delay_ms - (f[F_K_SLOPE] * size_delta + f[F_K_OFFSET])
    big = size > f[F_AVG_SIZE] + p[P_SIZE_OUTLIER] * math.sqrt(f[F_VAR_SIZE])
    if abs(deviation) < p[P_DELAY_OUTLIER] * sigma_n or big:
        jitter_noise(f, i, p, deviation, now_ms)
        if size_delta > -0.25 * f[F_MAX_SIZE]:
            kalman_update(f, p, delay_ms, size_delta, f[F_MAX_SIZE], f[F_VAR_NOISE])
    else:
        jitter_noise(f, i, p, math.copysign(p[P_DELAY_OUTLIER], deviation) * sigma_n, now_ms)
    if i[I_STARTUP_COUNT] >= p[P_STARTUP_FILTER]:
        f[F_FILTERED] = jitter_estimate(f, p)
    else:
        i[I_STARTUP_COUNT] += 1


@kernel
def jitter_estimate(f: np.ndarray, p: np.ndarray) -> float:
    noise = pymax(p[P_NOISE_STD_DEVS] * math.sqrt(f[F_VAR_NOISE]) - p[P_NOISE_OFFSET], 1.0)
    e = f[F_K_SLOPE] * (f[F_MAX_SIZE] - f[F_AVG_SIZE]) + noise
    if e < 1.0:
        e = 1.0 if f[F_PREV_ESTIMATE] <= 0.01 else f[F_PREV_ESTIMATE]
    e = pymin(e, p[P_MAX_ESTIMATE])
    f[F_PREV_ESTIMATE] = e
    return e


@kernel
def jitter_ms(f: np.ndarray, i: np.ndarray, p: np.ndarray, rtt_ms: float, now_ms: float) -> float:
    if p[P_JITTER_FIXED] != 0.0:
        j = p[P_FIXED_JITTER]
    else:
        j = pymax(jitter_estimate(f, p) + p[P_OS_JITTER], f[F_FILTERED])
    if now_ms - f[F_LAST_NACK] > p[P_RTT_MULT_TIMEOUT]:
        i[I_NACKED_FRAMES] = 0
    if i[I_NACKED_FRAMES] >= p[P_RTT_MULT_NACKED]:
        j += pymin(p[P_RTT_MULT] * rtt_ms, p[P_RTT_MULT_CAP])
    fps = fps_hz(f, i, p)
    if fps == 0.0:
        return pymax(j, 0.0)
    if fps < p[P_LOW_FPS]:
        return 0.0
    if fps < p[P_HIGH_FPS]:
        j *= (fps - p[P_LOW_FPS]) / (p[P_HIGH_FPS] - p[P_LOW_FPS])
    return pymax(j, 0.0)


# ------------------------------------------------------------------ receiver: timing (timing.py)


@kernel
def extrapolator_reset(f: np.ndarray, i: np.ndarray, p: np.ndarray, now_ms: float) -> None:
    f[F_X_START] = now_ms
    f[F_X_W0], f[F_X_W1] = p[P_TICKS_PER_MS], 0.0
    f[F_X_P00], f[F_X_P01], f[F_X_P10], f[F_X_P11] = 1.0, 0.0, 0.0, p[P_X_P_RESET]
    i[I_X_HAS_FIRST] = 0
    f[F_X_PREV_TS] = 0.0
    f[F_X_PREV_MS] = now_ms
    i[I_X_UPDATES] = 0
    f[F_X_POS], f[F_X_NEG] = 0.0, 0.0


@kernel
def extrapolator_delay_change(f: np.ndarray, p: np.ndarray, residual: float) -> bool:
    clip = p[P_CUSUM_CLIP]
    error = pymin(pymax(residual, -clip), clip)
    f[F_X_POS] = pymax(f[F_X_POS] + error - p[P_CUSUM_DRIFT], 0.0)
    f[F_X_NEG] = pymin(f[F_X_NEG] + error + p[P_CUSUM_DRIFT], 0.0)
    if f[F_X_POS] > p[P_CUSUM_ALARM] or -f[F_X_NEG] > p[P_CUSUM_ALARM]:
        f[F_X_POS], f[F_X_NEG] = 0.0, 0.0
        return True
    return False


@kernel
def extrapolator_update(
    f: np.ndarray, i: np.ndarray, p: np.ndarray, now_ms: float, ts_ticks: float
) -> None:
    """TimestampExtrapolator.update."""
    if i[I_X_UPDATES] and now_ms - f[F_X_PREV_MS] > p[P_X_IDLE_RESET]:
        extrapolator_reset(f, i, p, now_ms)
    if i[I_X_HAS_FIRST] == 0:
        f[F_X_START] = now_ms
        f[F_X_FIRST_TS] = ts_ticks
        i[I_X_HAS_FIRST] = 1
    if i[I_X_UPDATES] and ts_ticks < f[F_X_PREV_TS]:
        return
    f[F_X_PREV_MS] = now_ms
    t = now_ms - f[F_X_START]
    ts = ts_ticks - f[F_X_FIRST_TS]
    residual = ts - f[F_X_W0] * t - f[F_X_W1]
    if extrapolator_delay_change(f, p, residual) and i[I_X_UPDATES] >= p[P_X_START_PACKETS]:
        f[F_X_P11] = p[P_X_P_RESET]
    p00, p01, p10, p11 = f[F_X_P00], f[F_X_P01], f[F_X_P10], f[F_X_P11]
    ph0 = p00 * t + p01
    ph1 = p10 * t + p11
    denom = 1.0 + t * ph0 + ph1
    k0, k1 = ph0 / denom, ph1 / denom
    f[F_X_W0] = f[F_X_W0] + k0 * residual
    f[F_X_W1] = f[F_X_W1] + k1 * residual
    f[F_X_P00] = p00 - (k0 * t * p00 + k0 * p10)
    f[F_X_P01] = p01 - (k0 * t * p01 + k0 * p11)
    f[F_X_P10] = p10 - (k1 * t * p00 + k1 * p10)
    f[F_X_P11] = p11 - (k1 * t * p01 + k1 * p11)
    f[F_X_PREV_TS] = ts_ticks
    i[I_X_UPDATES] += 1


@kernel
def render_ms(
    f: np.ndarray, i: np.ndarray, p: np.ndarray, capture_ms: float, now_ms: float
) -> float:
    """WebRtcReceiver._render_ms: the extrapolated completion (or now) plus the current delay."""
    ts = capture_ms * p[P_TICKS_PER_MS]
    if i[I_X_HAS_FIRST] == 0 or i[I_X_UPDATES] == 0:
        est = now_ms
    elif i[I_X_UPDATES] < p[P_X_START_PACKETS]:
        est = f[F_X_PREV_MS] + (ts - f[F_X_PREV_TS]) / p[P_TICKS_PER_MS]
    elif f[F_X_W0] < 1e-3:
        est = f[F_X_START]
    else:
        est = f[F_X_START] + (ts - f[F_X_FIRST_TS] - f[F_X_W1]) / f[F_X_W0]
    delay = pymin(pymax(f[F_PO_CURRENT], p[P_MIN_PLAYOUT]), p[P_MAX_PLAYOUT])
    return est + delay


@kernel
def playout_set_jitter(f: np.ndarray, i: np.ndarray, jitter: float) -> None:
    f[F_PO_JITTER] = jitter
    if i[I_PO_STARTED] == 0 and f[F_PO_CURRENT] == 0.0:
        f[F_PO_CURRENT] = jitter
    i[I_PO_STARTED] = 1


@kernel
def playout_on_release(f: np.ndarray, p: np.ndarray, render: float, now_ms: float) -> None:
    late = (now_ms - render) + f[F_PO_DECODE] + p[P_RENDER_DELAY]
    if late < 0.0:
        return
    target = pymax(p[P_MIN_PLAYOUT], f[F_PO_JITTER] + f[F_PO_DECODE] + p[P_RENDER_DELAY])
    cur = f[F_PO_CURRENT]
    f[F_PO_CURRENT] = cur + late if cur + late <= target else target


# ------------------------------------------------------------------ receiver (webrtc.py)


@kernel
def frame_present(fr_i: np.ndarray, k: int) -> bool:
    if k < 0:
        return False
    s = k & (fr_i.shape[0] - 1)
    return fr_i[s, FI_PRESENT] != 0 and fr_i[s, FI_ID] == k


@kernel
def show(
    i: np.ndarray,
    fr_f: np.ndarray,
    fr_i: np.ndarray,
    shown_f: np.ndarray,
    shown_i: np.ndarray,
    k: int,
    release: float,
    render: float,
    sink: float,
    decided: float,
) -> None:
    """Append frame ``k``'s ShownFrame to the outbox."""
    s, n = k & (fr_i.shape[0] - 1), i[I_N_SHOWN]
    shown_i[n, SI_FRAME] = k
    shown_i[n, SI_NACKED] = fr_i[s, FI_NACKED]
    shown_f[n, SF_COMPLETE] = fr_f[s, FF_COMPLETE]
    shown_f[n, SF_CONTINUOUS] = fr_f[s, FF_CONTINUOUS]
    shown_f[n, SF_RELEASE] = release
    shown_f[n, SF_RENDER] = render
    shown_f[n, SF_SINK] = sink
    shown_f[n, SF_DECIDED] = decided
    shown_f[n, SF_ORIGINAL] = fr_f[s, FF_ORIGINAL]
    i[I_N_SHOWN] = n + 1


@kernel
def rx_next_event(f: np.ndarray, i: np.ndarray) -> float:
    """WebRtcReceiver.next_event_ms."""
    tick = f[F_NEXT_TICK] if i[I_N_ENTRIES] else INF
    start = f[F_PEND_START] if i[I_HAS_PENDING] else INF
    done = f[F_DEC_DONE] if i[I_HAS_DECODING] else INF
    return min(tick, f[F_TIMEOUT], start, done)


@kernel
def rx_propagate(
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    pk_i: np.ndarray,
    qi: np.ndarray,
    fr_f: np.ndarray,
    fr_i: np.ndarray,
    k: int,
    now_ms: float,
) -> None:
    """WebRtcReceiver._propagate."""
    fmask = fr_i.shape[0] - 1
    while True:
        if not frame_present(fr_i, k):
            return
        s = k & fmask
        complete = fr_i[s, FI_N_RECEIVED] == fr_i[s, FI_LAST] - fr_i[s, FI_FIRST] + 1
        if not complete or fr_f[s, FF_CONTINUOUS] == fr_f[s, FF_CONTINUOUS]:
            return
        r = (k - 1) & fmask
        ref_ok = k - 1 == i[I_LAST_RELEASED] or (
            frame_present(fr_i, k - 1) and fr_f[r, FF_CONTINUOUS] == fr_f[r, FF_CONTINUOUS]
        )
        if not (fr_i[s, FI_KEY] or ref_ok):
            return
        fr_f[s, FF_CONTINUOUS] = now_ms
        fr_i[s, FI_IN_CONT] = 1
        i[I_N_CONT] += 1
        if not fr_i[s, FI_NACKED]:
            extrapolator_update(
                f, i, p, fr_f[s, FF_COMPLETE], fr_f[s, FF_CAPTURE] * p[P_TICKS_PER_MS]
            )
        nack_clear_up_to(i, pk_i, qi, fr_i[s, FI_LAST])
        k += 1


@kernel
def next_continuous(i: np.ndarray, fr_i: np.ndarray, after: int, key_only: bool) -> int:
    """The first frame of the continuous list above ``after`` (a keyframe if ``key_only``); -1."""
    fmask = fr_i.shape[0] - 1
    for k in range(max(after + 1, i[I_LAST_RELEASED] + 1, 0), i[I_MAX_FRAME] + 1):
        s = k & fmask
        if fr_i[s, FI_IN_CONT] and fr_i[s, FI_ID] == k and (fr_i[s, FI_KEY] or not key_only):
            return k
    return -1


@kernel
def rx_skip_before(
    i: np.ndarray,
    fr_f: np.ndarray,
    fr_i: np.ndarray,
    shown_f: np.ndarray,
    shown_i: np.ndarray,
    k: int,
    now_ms: float,
) -> None:
    fmask = fr_i.shape[0] - 1
    for j in range(max(i[I_LAST_RELEASED] + 1, 0), k):
        s = j & fmask
        if fr_i[s, FI_IN_CONT] and fr_i[s, FI_ID] == j:
            show(i, fr_f, fr_i, shown_f, shown_i, j, NAN, NAN, NAN, now_ms)
            fr_i[s, FI_PRESENT] = 0
            fr_i[s, FI_IN_CONT] = 0
            i[I_N_CONT] -= 1


@kernel
def rx_schedule(
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    fr_f: np.ndarray,
    fr_i: np.ndarray,
    shown_f: np.ndarray,
    shown_i: np.ndarray,
    now_ms: float,
) -> None:
    """WebRtcReceiver._schedule: the next frame to decode, and when."""
    if i[I_HAS_DECODING]:
        return
    i[I_HAS_PENDING] = 0
    if i[I_N_CONT] == 0:
        return
    fmask = fr_i.shape[0] - 1
    if i[I_KEY_REQUIRED]:
        key = next_continuous(i, fr_i, -1, True)
        if key >= 0:
            i[I_HAS_PENDING], i[I_PEND_K] = 1, key
            f[F_PEND_START] = now_ms
            f[F_PEND_RENDER] = render_ms(f, i, p, fr_f[key & fmask, FF_CAPTURE], now_ms)
        return
    k = next_continuous(i, fr_i, -1, False)
    while True:
        render = render_ms(f, i, p, fr_f[k & fmask, FF_CAPTURE], now_ms)
        wait = render - now_ms - f[F_PO_DECODE] - p[P_RENDER_DELAY]
        if wait <= -p[P_FAST_FORWARD]:
            later = next_continuous(i, fr_i, k, True)
            if later >= 0:
                rx_skip_before(i, fr_f, fr_i, shown_f, shown_i, later, now_ms)
                k = later
                continue
        start = now_ms + pymax(0.0, pymin(wait, f[F_TIMEOUT] - now_ms - 1.0))
        i[I_HAS_PENDING], i[I_PEND_K] = 1, k
        f[F_PEND_START], f[F_PEND_RENDER] = start, render
        return


@kernel
def rx_on_packet(
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    pk_f: np.ndarray,
    pk_i: np.ndarray,
    fr_f: np.ndarray,
    fr_i: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    shown_f: np.ndarray,
    shown_i: np.ndarray,
    now_ms: float,
    seq: int,
) -> None:
    """WebRtcReceiver.on_packet (its NACKs and PLIs go straight to the transport's queues)."""
    pmask, fmask = pk_i.shape[0] - 1, fr_i.shape[0] - 1
    ps = seq & pmask
    f[F_LAST_PACKET] = now_ms
    if pk_i[ps, PI_KEY]:
        f[F_LAST_KEY_PACKET] = now_ms
    idle = i[I_N_ENTRIES] == 0
    retries = nack_on_packet(i, p, pk_f, pk_i, qf, qi, seq, now_ms)
    if i[I_OVERFLOWED]:
        i[I_OVERFLOWED] = 0
        qf[QF_PLI, ring_push(i, R_PLI, qf.shape[1] - 1)] = now_ms
    if idle and i[I_N_ENTRIES]:  # the retry task runs on the 20 ms grid from time 0
        tick = p[P_NACK_TICK]
        f[F_NEXT_TICK] = math.ceil(now_ms / tick) * tick
    k = pk_i[ps, PI_FRAME]
    if k <= i[I_LAST_RELEASED]:
        return
    s = k & fmask
    if not frame_present(fr_i, k):
        fr_i[s, FI_ID], fr_i[s, FI_PRESENT] = k, 1
        first, last = pk_i[ps, PI_FIRST], pk_i[ps, PI_LAST]
        fr_i[s, FI_FIRST], fr_i[s, FI_LAST] = first, last
        fr_i[s, FI_KEY] = pk_i[ps, PI_KEY]
        fr_i[s, FI_N_RECEIVED], fr_i[s, FI_SIZE], fr_i[s, FI_NACKED], fr_i[s, FI_IN_CONT] = (
            0,
            0,
            0,
            0,
        )
        fr_f[s, FF_CAPTURE] = pk_f[ps, PF_CAPTURE]
        fr_f[s, FF_COMPLETE], fr_f[s, FF_CONTINUOUS], fr_f[s, FF_ORIGINAL] = NAN, NAN, NAN
        for m in range(first, last + 1):  # a new frame has received nothing yet
            pk_i[m & pmask, PI_RECEIVED] = 0
        if k > i[I_MAX_FRAME]:
            i[I_MAX_FRAME] = k
    if pk_i[ps, PI_RECEIVED]:
        return
    pk_i[ps, PI_RECEIVED] = 1
    fr_i[s, FI_N_RECEIVED] += 1
    fr_i[s, FI_SIZE] += pk_i[ps, PI_SIZE]
    if retries > 0:
        fr_i[s, FI_NACKED] = 1
    if retries == 0 and not now_ms <= fr_f[s, FF_ORIGINAL]:
        fr_f[s, FF_ORIGINAL] = now_ms
    if fr_i[s, FI_N_RECEIVED] == fr_i[s, FI_LAST] - fr_i[s, FI_FIRST] + 1:
        fr_f[s, FF_COMPLETE] = now_ms
        rx_propagate(f, i, p, pk_i, qi, fr_f, fr_i, k, now_ms)
    rx_schedule(f, i, p, fr_f, fr_i, shown_f, shown_i, now_ms)


@kernel
def rx_decode_start(
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    qf: np.ndarray,
    fr_f: np.ndarray,
    fr_i: np.ndarray,
    now_ms: float,
) -> None:
    """WebRtcReceiver._decode_start."""
    k, render = i[I_PEND_K], f[F_PEND_RENDER]
    i[I_HAS_PENDING] = 0
    fmask = fr_i.shape[0] - 1
    s = k & fmask
    if fr_i[s, FI_KEY]:
        i[I_KEY_REQUIRED] = 0
    wait = p[P_KEY_TIMEOUT] if i[I_KEY_REQUIRED] else p[P_FREEZE_TIMEOUT]
    f[F_TIMEOUT] = now_ms + wait
    if fr_i[s, FI_NACKED]:
        if i[I_NACKED_FRAMES] < p[P_RTT_MULT_NACKED]:  # JitterEstimator.frame_nacked
            i[I_NACKED_FRAMES] += 1
        f[F_LAST_NACK] = now_ms
    else:
        complete, capture = fr_f[s, FF_COMPLETE], fr_f[s, FF_CAPTURE]
        has_delay = i[I_HAS_PREV] != 0
        delay = (
            (complete - f[F_PREV_COMPLETE]) - (capture - f[F_PREV_CAPTURE]) if has_delay else 0.0
        )
        jitter_update(f, i, p, has_delay, delay, float(fr_i[s, FI_SIZE]), now_ms)
        i[I_HAS_PREV] = 1
        f[F_PREV_COMPLETE], f[F_PREV_CAPTURE] = complete, capture
        rtt = rtt_estimate(f, i, p, qf, now_ms)
        playout_set_jitter(f, i, jitter_ms(f, i, p, rtt, now_ms))
        playout_on_release(f, p, render, now_ms)
    old = i[I_LAST_RELEASED]
    i[I_LAST_RELEASED] = k
    for j in range(max(old + 1, 0), k + 1):  # the continuous list keeps j > k; frames j < k go
        r = j & fmask
        if fr_i[r, FI_ID] == j:
            if fr_i[r, FI_IN_CONT]:
                fr_i[r, FI_IN_CONT] = 0
                i[I_N_CONT] -= 1
            if j < k:
                fr_i[r, FI_PRESENT] = 0
    i[I_HAS_DECODING], i[I_DEC_K] = 1, k
    f[F_DEC_DONE], f[F_DEC_RENDER], f[F_DEC_START] = now_ms + p[P_DECODE], render, now_ms


@kernel
def rx_decode_done(
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    fr_f: np.ndarray,
    fr_i: np.ndarray,
    shown_f: np.ndarray,
    shown_i: np.ndarray,
    now_ms: float,
) -> None:
    """WebRtcReceiver._decode_done."""
    k, render, release = i[I_DEC_K], f[F_DEC_RENDER], f[F_DEC_START]
    i[I_HAS_DECODING] = 0
    late = now_ms > render + p[P_DROP_LATE]
    if late:
        sink = NAN
    else:
        sink = pymax(pymax(now_ms, render - p[P_RENDER_DELAY]), f[F_LAST_SINK])
        f[F_LAST_SINK] = sink
    show(i, fr_f, fr_i, shown_f, shown_i, k, release, render, sink, now_ms if late else sink)
    fr_i[k & (fr_i.shape[0] - 1), FI_PRESENT] = 0
    i[I_DECODED] += 1
    if i[I_DECODED] > p[P_DECODE_IGNORED]:
        f[F_PO_DECODE] = p[P_DECODE]
    rx_schedule(f, i, p, fr_f, fr_i, shown_f, shown_i, now_ms)


@kernel
def rx_advance(
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    pk_f: np.ndarray,
    pk_i: np.ndarray,
    fr_f: np.ndarray,
    fr_i: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    shown_f: np.ndarray,
    shown_i: np.ndarray,
    now_ms: float,
) -> None:
    """WebRtcReceiver.advance: timers first, then decoding, at each instant."""
    while True:
        tick = f[F_NEXT_TICK] if i[I_N_ENTRIES] else INF
        start = f[F_PEND_START] if i[I_HAS_PENDING] else INF
        done = f[F_DEC_DONE] if i[I_HAS_DECODING] else INF
        timeout = f[F_TIMEOUT]
        t = min(tick, timeout, start, done)
        if t > now_ms:
            return
        if tick == t:  # WebRtcReceiver._nack_tick
            nack_on_tick(i, p, pk_f, pk_i, qf, qi, t, rtt_estimate(f, i, p, qf, t))
            f[F_NEXT_TICK] = t + p[P_NACK_TICK]
        elif timeout == t:  # WebRtcReceiver._timeout
            active = t - f[F_LAST_PACKET] < p[P_INACTIVE]
            if active and t - f[F_LAST_KEY_PACKET] >= p[P_KEY_PACKET_RECENT]:
                qf[QF_PLI, ring_push(i, R_PLI, qf.shape[1] - 1)] = t
            wait = p[P_KEY_TIMEOUT] if i[I_KEY_REQUIRED] else p[P_FREEZE_TIMEOUT]
            f[F_TIMEOUT] = t + wait
            rx_schedule(f, i, p, fr_f, fr_i, shown_f, shown_i, t)
        elif done == t:
            rx_decode_done(f, i, p, fr_f, fr_i, shown_f, shown_i, t)
        else:
            rx_decode_start(f, i, p, qf, fr_f, fr_i, t)


# ------------------------------------------------------------------ transport (webrtc_transport.py)


@kernel
def rtt_ms(f: np.ndarray, i: np.ndarray, p: np.ndarray) -> float:
    """WebRtcTransport._rtt_ms: the last one-way delay (0 before any) plus the feedback delay."""
    owd = f[F_LAST_OWD] if i[I_HAS_OWD] else 0.0
    return owd + p[P_FB]


@kernel
def next_send(f: np.ndarray, i: np.ndarray, pk_f: np.ndarray, qf: np.ndarray) -> tuple[float, bool]:
    """WebRtcTransport._next_send: the pacer's next send, and whether a retransmission."""
    r = INF
    if ring_len(i, R_RTX) > 0:
        r = pacer_next_ms(f, qf[QF_RTX_READY, ring_head(i, R_RTX, qf.shape[1] - 1)])
    m = INF
    if i[I_MEDIA_HEAD] < i[I_SEQ]:
        m = pacer_next_ms(f, pk_f[i[I_MEDIA_HEAD] & (pk_f.shape[0] - 1), PF_READY])
    return (r, True) if r <= m else (m, False)


@kernel
def flush_ms(f: np.ndarray, i: np.ndarray, p: np.ndarray, qf: np.ndarray) -> float:
    """WebRtcTransport._flush_ms (the batch not handed over starts at slot 0)."""
    if ring_len(i, R_UNSENT) == 0:
        return INF
    return pymax(qf[QF_UN_SEND, 0], f[F_DRAIN]) + p[P_LINK_DELAY]


@kernel
def burst(
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    pk_f: np.ndarray,
    pk_i: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    send: float,
    rtx: bool,
    until_ms: float,
    pacing_kbps: float,
) -> tuple[float, bool]:
    """WebRtcTransport._burst; it stops early (the same next send) when the batch's ring is full."""
    qmask, pmask = qf.shape[1] - 1, pk_f.shape[0] - 1
    rtt = rtt_ms(f, i, p)  # no arrival before until_ms
    need = int(p[P_NACK_MAX_LIST]) + 8
    while True:
        if rtx:
            s = ring_pop(i, R_RTX, qmask)
            ready, seq, size = qf[QF_RTX_READY, s], qi[QI_RTX_SEQ, s], qi[QI_RTX_SIZE, s]
        else:
            seq = i[I_MEDIA_HEAD]
            ready, size = pk_f[seq & pmask, PF_READY], pk_i[seq & pmask, PI_SIZE]
            i[I_MEDIA_HEAD] = seq + 1  # PacketHistory.put: stored at the back
            pk_f[seq & pmask, PF_H_SENT] = send
            pk_f[seq & pmask, PF_H_RESENT] = -INF
            history_cull(f, i, p, pk_f, send, rtt)
        pacer_departure(f, ready)
        pacer_sent(f, p, size, pacing_kbps, send)
        u = ring_push(i, R_UNSENT, qmask)
        qf[QF_UN_SEND, u], qi[QI_UN_SIZE, u], qi[QI_UN_SEQ, u], qi[QI_UN_RTX, u] = (
            send,
            size,
            seq,
            rtx,
        )
        if ring_len(i, R_RTX) > 0:
            send, rtx = next_send(f, i, pk_f, qf)
        elif i[I_MEDIA_HEAD] < i[I_SEQ]:
            send, rtx = pacer_next_ms(f, pk_f[i[I_MEDIA_HEAD] & pmask, PF_READY]), False
        else:
            return INF, False
        if send >= until_ms or qf.shape[1] - ring_len(i, R_UNSENT) < need:
            return send, rtx


@kernel
def link_inline(
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    opps: np.ndarray,
    table: np.ndarray,
    q_start: np.ndarray,
    q_size: np.ndarray,
) -> bool:
    """Link.send_list of the batch by the link's compiled kernel (a link without random loss or
    per-segment delay); False when it must go through the Python link instead."""
    n = ring_len(i, R_UNSENT)
    if i[I_INLINE_LINK] == 0 or i[I_L_TAIL] + n > q_start.shape[0]:
        return False
    send, size = qf[QF_UN_SEND, :n], qi[QI_UN_SIZE, :n]
    dropped = lk.link_send(
        send,
        size,
        opps,
        table,
        int(p[P_L_PERIOD]),
        p[P_L_START],
        p[P_LINK_DELAY],
        f[F_L_LAST_SEND],
        int(p[P_L_MTU]),
        int(p[P_L_LIMIT_PACKETS]),
        int(p[P_L_LIMIT_BYTES]),
        q_start,
        q_size,
        i[I_L_HEAD],
        i[I_L_TAIL],
        i[I_L_END],
        i[I_L_HEAD : I_L_END + 1],
        qf[QF_UN_DEP, :n],
        qf[QF_UN_ARR, :n],
    )
    if dropped == lk.DECLINED:
        return False
    i[I_L_DROPPED] += dropped
    i[I_L_SENT] += n
    f[F_L_LAST_SEND] = send[n - 1]
    end, mtu = i[I_L_END], int(p[P_L_MTU])
    if end == 0:
        f[F_DRAIN] = 0.0
    else:
        f[F_DRAIN] = lk.opportunity_ms((end - 1) // mtu, opps, int(p[P_L_PERIOD]), p[P_L_START])
    return True


@kernel
def flush_done(f: np.ndarray, i: np.ndarray, qf: np.ndarray, qi: np.ndarray) -> None:
    """The rest of WebRtcTransport._flush once the batch's arrivals are in ``QF_UN_ARR``: the
    outbox, and the packets in flight (in arrival order, after the equal ones)."""
    qmask = qf.shape[1] - 1
    for u in range(ring_len(i, R_UNSENT)):
        t, arrival = qf[QF_UN_SEND, u], qf[QF_UN_ARR, u]
        o = ring_push(i, R_SENT, qmask)
        qf[QF_SENT_SEND, o], qf[QF_SENT_ARR, o] = t, arrival
        qi[QI_SENT_SIZE, o], qi[QI_SENT_RTX, o] = qi[QI_UN_SIZE, u], qi[QI_UN_RTX, u]
        if arrival == arrival:
            head = i[RING + 2 * R_FLIGHT]
            pos = i[RING + 2 * R_FLIGHT + 1]
            i[RING + 2 * R_FLIGHT + 1] = pos + 1
            while pos > head and qf[QF_FL_ARR, (pos - 1) & qmask] > arrival:
                prev = (pos - 1) & qmask
                qf[QF_FL_ARR, pos & qmask] = qf[QF_FL_ARR, prev]
                qf[QF_FL_SEND, pos & qmask] = qf[QF_FL_SEND, prev]
                qi[QI_FL_SEQ, pos & qmask] = qi[QI_FL_SEQ, prev]
                pos -= 1
            qf[QF_FL_ARR, pos & qmask], qf[QF_FL_SEND, pos & qmask] = arrival, t
            qi[QI_FL_SEQ, pos & qmask] = qi[QI_UN_SEQ, u]
    ring_clear(i, R_UNSENT)
    i[I_FLUSH_READY] = 0


@kernel
def flush(
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    opps: np.ndarray,
    table: np.ndarray,
    q_start: np.ndarray,
    q_size: np.ndarray,
) -> int:
    """WebRtcTransport._flush: DONE, or what the caller must do first."""
    n = ring_len(i, R_UNSENT)
    if n == 0:
        return DONE
    q = qf.shape[1]
    if q - ring_len(i, R_FLIGHT) < n or q - ring_len(i, R_SENT) < n:
        return NEED_ROOM
    if not link_inline(f, i, p, qf, qi, opps, table, q_start, q_size):
        return NEED_FLUSH
    flush_done(f, i, qf, qi)
    return DONE


@kernel
def answer_nack(
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    pk_f: np.ndarray,
    pk_i: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    t: float,
    target_kbps: float,
) -> bool:
    """The first NACK at the sender: rtx.answer_nack into the retransmission queue; whether any."""
    qmask = qf.shape[1] - 1
    s = ring_pop(i, R_NACKQ, qmask)
    off, cnt = qi[QI_NQ_OFF, s], qi[QI_NQ_CNT, s]
    i[RING + 2 * R_NSEQ] = off + cnt  # its sequence numbers are the oldest stored
    rtt = rtt_ms(f, i, p)
    answered = False
    for pos in range(off, off + cnt):
        seq = qi[QI_NSEQ, pos & qmask]
        size = history_resend(i, p, pk_f, pk_i, seq, t, rtt)
        if size < 0:
            continue
        if not limiter_allow(i, p, qf, qi, t, size, target_kbps):
            break
        r = ring_push(i, R_RTX, qmask)
        qf[QF_RTX_READY, r], qi[QI_RTX_SEQ, r], qi[QI_RTX_SIZE, r] = t, seq, size
        answered = True
    return answered


@kernel
def run_until(
    t_ms: float,
    pacing_kbps: float,
    target_kbps: float,
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    pk_f: np.ndarray,
    pk_i: np.ndarray,
    fr_f: np.ndarray,
    fr_i: np.ndarray,
    qf: np.ndarray,
    qi: np.ndarray,
    shown_f: np.ndarray,
    shown_i: np.ndarray,
    opps: np.ndarray,
    table: np.ndarray,
    q_start: np.ndarray,
    q_size: np.ndarray,
) -> int:
    """WebRtcTransport.run_until: every event before ``t_ms``. DONE, or NEED_ROOM / NEED_FLUSH
    (the caller grows the state or flushes the batch through the Python link, then calls again)."""
    q, qmask = qf.shape[1], qf.shape[1] - 1
    if i[I_FLUSH_READY]:
        flush_done(f, i, qf, qi)
    send, rtx = next_send(f, i, pk_f, qf)
    fl = flush_ms(f, i, p, qf)
    rx_next = rx_next_event(f, i)
    fb = p[P_FB]
    while True:
        if not room(i, q, p):
            return NEED_ROOM
        arr = qf[QF_FL_ARR, ring_head(i, R_FLIGHT, qmask)] if ring_len(i, R_FLIGHT) else INF
        fbk = qf[QF_NQ_T, ring_head(i, R_NACKQ, qmask)] if ring_len(i, R_NACKQ) else INF
        rtt_at = f[F_NEXT_RTT]
        t = min(fl, arr, fbk, rtt_at, send, rx_next)
        if t >= t_ms:
            break
        if fl == t:
            status = flush(f, i, p, qf, qi, opps, table, q_start, q_size)
            if status != DONE:
                return status
            fl = INF
            continue
        if arr == t:  # arrivals back to back while each is the next event
            while True:
                s = ring_pop(i, R_FLIGHT, qmask)
                f[F_LAST_OWD], i[I_HAS_OWD] = t - qf[QF_FL_SEND, s], 1
                rx_on_packet(
                    f, i, p, pk_f, pk_i, fr_f, fr_i, qf, qi, shown_f, shown_i, t, qi[QI_FL_SEQ, s]
                )
                fbk = qf[QF_NQ_T, ring_head(i, R_NACKQ, qmask)] if ring_len(i, R_NACKQ) else INF
                rx_next = rx_next_event(f, i)
                if ring_len(i, R_FLIGHT) == 0 or not room(i, q, p):
                    break
                t = qf[QF_FL_ARR, ring_head(i, R_FLIGHT, qmask)]
                if t >= fl or t >= t_ms or t > min(fbk, rtt_at, send, rx_next):
                    break
            continue
        if fbk == t:
            if answer_nack(f, i, p, pk_f, pk_i, qf, qi, t, target_kbps):
                send, rtx = next_send(f, i, pk_f, qf)
            continue
        if rtt_at == t:
            if i[I_HAS_OWD]:
                rtt_on_sample(f, i, qf, t, rtt_ms(f, i, p))
            f[F_NEXT_RTT] += p[P_RTT_REPORT]
            continue
        if send == t:
            if fl == INF:  # the burst's first packet will be the first not handed over
                fl = pymax(send, f[F_DRAIN]) + p[P_LINK_DELAY]
            until = min(arr, fbk, rx_next + fb, t_ms, fl)
            send, rtx = burst(f, i, p, pk_f, pk_i, qf, qi, send, rtx, until, pacing_kbps)
            continue
        rx_advance(f, i, p, pk_f, pk_i, fr_f, fr_i, qf, qi, shown_f, shown_i, t)
        rx_next = rx_next_event(f, i)
    return flush(f, i, p, qf, qi, opps, table, q_start, q_size)


@kernel
def live_seq(i: np.ndarray, pk_i: np.ndarray, qi: np.ndarray) -> int:
    """The oldest sequence number the state may still read: the history's, the NACK list's (in
    sequence order), those waiting in the retransmission queue, the batch or in flight, and the
    first of the oldest one's frame (a frame's packets are reset when the frame is created)."""
    qmask = qi.shape[1] - 1
    lo = min(i[I_HIST_LO], i[I_MEDIA_HEAD])
    if ring_len(i, R_BYSEQ) > 0:
        lo = min(lo, qi[QI_BYSEQ, ring_head(i, R_BYSEQ, qmask)])
    for r, row in ((R_RTX, QI_RTX_SEQ), (R_FLIGHT, QI_FL_SEQ), (R_UNSENT, QI_UN_SEQ)):
        for pos in range(i[RING + 2 * r], i[RING + 2 * r + 1]):
            lo = min(lo, qi[row, pos & qmask])
    if lo < i[I_SEQ]:  # frames are consecutive sequence numbers: this frame's first is the least
        lo = min(lo, pk_i[lo & (pk_i.shape[0] - 1), PI_FIRST])
    return lo


@kernel
def enqueue_frame(
    i: np.ndarray,
    pk_f: np.ndarray,
    pk_i: np.ndarray,
    qi: np.ndarray,
    frame_id: int,
    capture_ms: float,
    keyframe: bool,
    ready_ms: float,
    sizes: np.ndarray,
    frame_rows: int,
) -> bool:
    """WebRtcTransport.enqueue_frame; False (nothing done) when a table must grow first."""
    n = sizes.shape[0]
    first = i[I_SEQ]
    last = first + n - 1
    if (
        last - live_seq(i, pk_i, qi) >= pk_f.shape[0]
        or frame_id - i[I_LAST_RELEASED] >= frame_rows - 2
    ):
        return False
    pmask = pk_f.shape[0] - 1
    for k in range(n):
        s = (first + k) & pmask
        pk_i[s, PI_FRAME], pk_i[s, PI_FIRST], pk_i[s, PI_LAST] = frame_id, first, last
        pk_i[s, PI_KEY], pk_i[s, PI_SIZE] = keyframe, sizes[k]
        pk_i[s, PI_RECEIVED], pk_i[s, PI_NACK_PRESENT], pk_i[s, PI_NACK_RETRIES] = 0, 0, 0
        pk_f[s, PF_CAPTURE], pk_f[s, PF_READY] = capture_ms, ready_ms
    i[I_SEQ] = last + 1
    return True

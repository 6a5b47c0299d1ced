"""Compiled kernels of the timeline: :class:`~artic_rl.envs.timeline.Timeline` over arrays, an
interval's sender, link and receiver in one call (``artic`` receiver: :func:`send_interval`;
``webrtc`` receiver: :func:`interval_webrtc`, the frames into its compiled transport, its run and
their fates out of it).

The rules are those of the reference, restated statement for statement and in the same
floating-point order (no ``fastmath``), so every number is the reference's bit for bit (the tests
compare whole episodes): the frame grid and keyframes (``Timeline._frame_times``,
``Timeline._keyframes``), the frame sizes
(:meth:`~artic_rl.video.profile.CodecProfile.frame_sizes_bytes`, drawing from the episode's
generator as numpy does: :func:`bounded_uint32`), the pacer (:mod:`~artic_rl.sender.pacer`), the
link (:mod:`~artic_rl.net._link_kernels`), the decode chain, loss notices and the MLLM's sampler
(:mod:`artic_rl.receiver`), the ``webrtc`` transport's fates (``Timeline._send_interval_webrtc``)
and the sender's feedback (``Timeline._queue_packet_reports``, ``Timeline.feedback``). Python's
``min``/``max`` keep their first argument on ties (:func:`pymin`, :func:`pymax`), as here.

State (owned by :class:`~artic_rl.envs.timeline_compiled.CompiledTimeline`):

- ``f`` (float64) and ``i`` (int64): the scalars, indexed by the ``F_*`` and ``I_*`` constants;
  ``p`` (float64): the constants of the episode (``P_*``; the cache is keyed on this file only,
  so nothing comes from another module's globals);
- ``fr``: per frame (row = frame id), its capture time, decodable time (NaN: never) and the
  action's settings (``FC_*``); ``dl``: the decodable frames in decoding order (``DL_*``; with
  the ``webrtc`` receiver, each one's retransmission wait and jitter-buffer hold too);
- ``q``: the lists, ``q[list, row, field]`` with the live rows ``[head, tail)`` in
  ``i[I_LIST + 2 list]`` and ``i[I_LIST + 2 list + 1]``: the packet reports not yet sent (in
  ``known`` order, and the few learned out of order), the packets waiting for a later arrival to
  reveal their loss, the frame reports (the same two), the frames waiting for their loss to be
  noticed, the keyframe requests on their way to the sender and those not yet reported;
- ``sc``/``sci``: the interval's scratch rows (frame times and sizes, each packet's send time,
  size and arrival);
- ``plan``: the questions' region start times and whether the cloud predicted each region;
- ``bits``/``buf``: the episode generator's own state (numpy's PCG64, see :func:`pcg64_next64`);
- ``w_*``: the compiled ``webrtc`` transport's own arrays (its layout in ``p[P_W_*]``).

:func:`send_interval` runs an interval; it stops with ``NEED_ROOM`` (a table must grow first)
before it changes any state but the frame times and draws (the caller grows it and calls
:func:`send_frames`), and with ``NEED_LINK`` (the link is not run inside the kernel: a loss model
other than independent loss, a wrapped link) once the packets are paced (the caller hands the
batch to the Python link and calls :func:`receive`).

The kernels that allocate nothing and take several arrays once per step (the ``webrtc``
receiver's :func:`send_interval_webrtc`, :func:`enqueue_frames` and :func:`receive_webrtc`,
:func:`mllm_samples`, :func:`capacity_kbps`, :func:`feedback`: its reports into pools the caller
owns) are compiled without numba's reference counting
(``_nrt=False``, numba's own option, missing from its type hints): a call then takes its arrays
as plain views, where the counting would wrap each in a new reference-counted record. The scratch
serves where they need room (``SC_KNOWN``, the packet sizes), and the keyframe requests a frame
saw leave their list only once room is checked (:func:`drop_due_requests`), so nothing is copied
to be undone.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from artic_rl.backend import kernel
from artic_rl.envs import _webrtc_kernels as wk
from artic_rl.net import _link_kernels as lk
from artic_rl.receiver import reports

# the feedback tick that carries a report: the reference's own rule, compiled into the kernels
# below (a change there drops their cache: artic_rl.backend.guard_kernel_cache)
report_tick_ms = njit(cache=True)(reports.report_tick_ms)

# ---- answers: DONE; NEED_SCRATCH (more frames than the scratch holds; nothing changed);
# NEED_DRAWS (no generator state: the caller draws the residuals, then calls send_frames);
# NEED_ROOM (a table must grow; the frame times and draws are kept, nothing else changed: call
# send_frames); NEED_LINK (paced; the caller sends the batch through the Python link, then calls
# receive); DECLINED (the link kernel declined the batch: the reference decides, then receive)
DONE, NEED_SCRATCH, NEED_DRAWS, NEED_ROOM, NEED_LINK, DECLINED = 0, 1, 2, 3, 4, 5
# ---- where interval_webrtc stopped for the caller to go on (DONE: it did not)
AT_SEND, AT_RUN, AT_OUTBOX, AT_RECEIVE = 1, 2, 3, 4

# ---- p: constants
P_CAPTURE_FPS, P_ENCODE, P_PAYLOAD, P_HEADER, P_PACING, P_FB = 0, 1, 2, 3, 4, 5
P_FRAME_TIMEOUT, P_PLI_INTERVAL, P_BITS_PER_BYTE, P_MS_PER_S = 6, 7, 8, 9
P_L_PERIOD, P_L_START, P_L_DELAY, P_L_MTU = 10, 11, 12, 13
P_L_LIMIT_PACKETS, P_L_LIMIT_BYTES, P_L_LOSS = 14, 15, 16  # P_L_LOSS: independent loss, 0: none
# the webrtc transport's layout (its kernel's constants, passed in: this file's cache holds none)
P_W_I_SEQ, P_W_I_LAST_RELEASED, P_W_I_N_SHOWN, P_W_I_SENT_TAIL = 17, 18, 19, 20
P_W_QF_SENT_SEND, P_W_QF_SENT_ARR, P_W_QI_SENT_SIZE, P_W_QI_SENT_RTX = 21, 22, 23, 24
P_W_SI_FRAME, P_W_SI_NACKED, P_W_SF_COMPLETE, P_W_SF_CONTINUOUS = 25, 26, 27, 28
P_W_SF_RELEASE, P_W_SF_SINK, P_W_SF_DECIDED, P_W_SF_ORIGINAL = 29, 30, 31, 32
P_MLLM_FPS = 33
P_W_I_PLI_TAIL, P_W_DONE = 34, 35  # the transport's keyframe-request outbox; its kernel's DONE
P_FB_INTERVAL = 36  # the receiver's report period (0: every report at once)
N_P = 37

# ---- f: float scalars
F_NEXT_FRAME, F_LAST_FRAME, F_LAST_KEY_MS = 0, 1, 2
F_PACER_FREE, F_PACER_BEFORE, F_PACER_LEAD = 3, 4, 5
F_LAST_DEC, F_LAST_PLI, F_INTERVAL_LOSS, F_L_LAST_SEND = 6, 7, 8, 9
F_SAMPLE_NEXT = 10  # the MLLM sampler's next instant
# the frames' region is the one the cloud held at this time (Timeline.set_decision; NaN: capture)
F_REGION_MS = 11
N_F = 12

# ---- i: int scalars
I_N_FRAMES, I_LAST_KEY_IDX, I_SEQ, I_CHAIN_OK, I_N_DECODED = 0, 1, 2, 3, 4
I_N_TIMES, I_N_PACKETS, I_SENT_BYTES, I_INLINE = 5, 6, 7, 8
I_L_HEAD, I_L_TAIL, I_L_END, I_L_SENT, I_L_DROPPED = 9, 10, 11, 12, 13  # the link's cursor
I_FB_STATUS = 14  # feedback's answer: DONE, or NEED_ROOM (nothing changed)
I_DRAW, I_L_LOST = 15, 16  # whether the kernel draws from the generator; the link's random losses
I_SAMPLE_LAST = 17  # the MLLM sampler's last position in the decoded table (-1: none yet)
I_LIST = 18  # head and tail of list L at I_LIST + 2 L, I_LIST + 2 L + 1
# the lists (rows of q): packet reports (in known order, and learned out of order), packets
# waiting for a later arrival, frame reports (the same two), frames waiting for their loss to be
# noticed, keyframe requests on their way to the sender, keyframe requests not yet reported
L_PK, L_PK_LATE, L_PK_WAIT, L_FR, L_FR_LATE, L_FLOSS, L_PLI, L_PLI_REP = 0, 1, 2, 3, 4, 5, 6, 7
N_LISTS = 8
I_FB_INTS = I_LIST + 2 * N_LISTS  # the next free slots of the feedback's report pools
I_FB_FLOATS = I_FB_INTS + 1
N_I = I_FB_FLOATS + 1
N_Q = 5  # fields per list row
# packet report fields (L_PK, L_PK_LATE); L_PK_WAIT: seq, send, size
PK_KNOWN, PK_SEQ, PK_SEND, PK_ARR, PK_SIZE = 0, 1, 2, 3, 4
# frame report fields (L_FR, L_FR_LATE); L_FLOSS: frame, timer; L_PLI: at sender, lost frame
FRR_KNOWN, FRR_IDX, FRR_CAP, FRR_DEC = 0, 1, 2, 3

# ---- fr: per frame; dl: the decodable frames in decoding order
FC_CAPTURE, FC_DEC, FC_RATE, FC_FPS, FC_ROI, FC_REGION, FC_KEY = 0, 1, 2, 3, 4, 5, 6
N_FC = 7
DL_FRAME, DL_DEC, DL_CAP, DL_RTX_WAIT, DL_HOLD = 0, 1, 2, 3, 4  # the last two: webrtc only
N_DL = 5

# ---- sc (float) and sci (int) scratch rows
SC_TIME, SC_SIZE, SC_KEY, SC_SEND, SC_ARR, SC_DEP = 0, 1, 2, 3, 4, 5
SC_KNOWN = 6  # when the sender learns each packet's fate (queue_packet_reports)
N_SC = 7
SCI_PSIZE, SCI_START, SCI_DRAW = 0, 1, 2
N_SCI = 3

# ---- cell: a profile query's constants, then its residual pool
C_P_BYTES, C_KEY_BYTES, C_PAYBACK, C_SETTLE, C_SCALE, C_POOL = 0, 1, 2, 3, 4, 5


@njit(cache=True)
def pymin(a: float, b: float) -> float:
    """Python's ``min(a, b)``: ``a`` unless ``b`` is smaller."""
    return b if b < a else a


@njit(cache=True)
def pymax(a: float, b: float) -> float:
    """Python's ``max(a, b)``: ``a`` unless ``b`` is larger."""
    return b if b > a else a


# ------------------------------------------------------------------ numpy's PCG64 generator
# The generator's own state, through two views of its memory (the caller checks them against
# ``bit_generator.state``): ``bits`` (uint64) the 128-bit LCG state and increment, low word first;
# ``buf`` (uint32) the struct around it, whose words 2 and 3 are the buffered half of a 64-bit
# output (``has_uint32``, ``uinteger``). Every draw advances it as numpy's C code would.
MASK32 = np.uint64(0xFFFFFFFF)
SHIFT32 = np.uint64(32)
PCG_MULT_HIGH = np.uint64(0x2360ED051FC65DA4)  # PCG_DEFAULT_MULTIPLIER_128 (numpy's pcg64.h)
PCG_MULT_LOW = np.uint64(0x4385DF649FCCF645)


@njit(cache=True)
def mul_64x64(a: np.uint64, b: np.uint64) -> tuple[np.uint64, np.uint64]:
    """The 128-bit product of two 64-bit words: (high, low)."""
    a_lo, a_hi = a & MASK32, a >> SHIFT32
    b_lo, b_hi = b & MASK32, b >> SHIFT32
    p0, p1, p2, p3 = a_lo * b_lo, a_lo * b_hi, a_hi * b_lo, a_hi * b_hi
    mid = (p0 >> SHIFT32) + (p1 & MASK32) + (p2 & MASK32)
    return p3 + (p1 >> SHIFT32) + (p2 >> SHIFT32) + (mid >> SHIFT32), (p0 & MASK32) | (
        mid << SHIFT32
    )


@njit(cache=True)
def pcg64_next64(bits: np.ndarray) -> np.uint64:
    """``pcg64_random_r``: one LCG step (state * multiplier + increment, mod 2^128), then the
    XSL-RR output of the new state."""
    lo, hi = bits[0], bits[1]
    p_hi, p_lo = mul_64x64(lo, PCG_MULT_LOW)
    p_hi = p_hi + lo * PCG_MULT_HIGH + hi * PCG_MULT_LOW
    new_lo = p_lo + bits[2]
    new_hi = p_hi + bits[3] + (np.uint64(1) if new_lo < p_lo else np.uint64(0))
    bits[0], bits[1] = new_lo, new_hi
    x = new_hi ^ new_lo
    rot = new_hi >> np.uint64(58)
    return (x >> rot) | (x << ((np.uint64(64) - rot) & np.uint64(63)))


@njit(cache=True)
def pcg64_next32(bits: np.ndarray, buf: np.ndarray) -> np.uint64:
    """``pcg64_next32``: the buffered high half of the last 64-bit output, else a new output's
    low half (its high half buffered)."""
    if buf[2] != 0:
        buf[2] = 0
        return np.uint64(buf[3])
    x = pcg64_next64(bits)
    buf[2] = 1
    buf[3] = np.uint32(x >> SHIFT32)
    return x & MASK32


@njit(cache=True)
def next_double(bits: np.ndarray) -> float:
    """``Generator.random``'s one draw: the top 53 bits of a 64-bit output, in [0, 1)."""
    return float(pcg64_next64(bits) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def bounded_uint32(bits: np.ndarray, buf: np.ndarray, rng: int) -> int:
    """``Generator.integers(0, rng + 1)``'s one draw for ``rng < 2^32``
    (``buffered_bounded_lemire_uint32``: Lemire's multiply and reject)."""
    if rng == 0:
        return 0
    if rng == 0xFFFFFFFF:
        return int(pcg64_next32(bits, buf))
    rng_excl = np.uint64(rng) + np.uint64(1)
    m = pcg64_next32(bits, buf) * rng_excl
    leftover = m & MASK32
    if leftover < rng_excl:
        threshold = (MASK32 - np.uint64(rng)) % rng_excl
        while leftover < threshold:
            m = pcg64_next32(bits, buf) * rng_excl
            leftover = m & MASK32
    return int(m >> SHIFT32)


# ------------------------------------------------------------------ lists


@njit(cache=True)
def live(i: np.ndarray, lst: int) -> int:
    return i[I_LIST + 2 * lst + 1] - i[I_LIST + 2 * lst]


@njit(cache=True)
def room(q: np.ndarray, i: np.ndarray, lst: int, need: int) -> bool:
    """Whether ``need`` more rows fit in list ``lst`` (moving its live rows to the front if that
    makes room: no observable change)."""
    head, tail = i[I_LIST + 2 * lst], i[I_LIST + 2 * lst + 1]
    if tail + need <= q.shape[1]:
        return True
    n = tail - head
    if n + need > q.shape[1]:
        return False
    for r in range(n):
        for c in range(N_Q):
            q[lst, r, c] = q[lst, head + r, c]
    i[I_LIST + 2 * lst], i[I_LIST + 2 * lst + 1] = 0, n
    return True


@njit(cache=True)
def push(
    q: np.ndarray, i: np.ndarray, lst: int, a: float, b: float, c: float, d: float, e: float
) -> None:
    """Append a row to list ``lst`` (room checked before)."""
    t = i[I_LIST + 2 * lst + 1]
    q[lst, t, 0], q[lst, t, 1], q[lst, t, 2], q[lst, t, 3], q[lst, t, 4] = a, b, c, d, e
    i[I_LIST + 2 * lst + 1] = t + 1


# ------------------------------------------------------------------ sender


@njit(cache=True)
def frame_times(
    fps: float, t0: float, t1: float, f: np.ndarray, p: np.ndarray, sc: np.ndarray
) -> int:
    """``Timeline._frame_times``: capture instants in [t0, t1) of the frames the frame rate keeps
    (on the camera's grid), into ``sc[SC_TIME]``; their number, or -1 when the scratch is too
    short (nothing changed)."""
    period = p[P_MS_PER_S] / fps
    cap_period = p[P_MS_PER_S] / p[P_CAPTURE_FPS]
    nxt = pymax(t0, pymin(f[F_NEXT_FRAME], f[F_LAST_FRAME] + period))
    last = f[F_LAST_FRAME]
    n = 0
    while True:
        c = math.ceil(nxt / cap_period - 1e-9) * cap_period  # an int: never -0.0
        if c >= t1:
            break
        if n == sc.shape[1]:
            return -1
        sc[SC_TIME, n] = c
        n += 1
        last = c
        nxt = c + period
    f[F_NEXT_FRAME], f[F_LAST_FRAME] = nxt, last
    return n


@njit(cache=True)
def keyframes(n: int, f: np.ndarray, i: np.ndarray, q: np.ndarray, sc: np.ndarray) -> None:
    """``Timeline._keyframes``: which of the interval's ``n`` (> 0) frames are keyframes (the first
    frame, or a due keyframe request about a frame since the last keyframe), into ``sc[SC_KEY]``.
    Each frame's due requests are those that reached the sender by its capture and after the
    previous frame's; they stay in the list until :func:`drop_due_requests`."""
    first = i[I_N_FRAMES]
    for k in range(n):
        sc[SC_KEY, k] = 0.0
    if first == 0:
        sc[SC_KEY, 0] = 1.0
        i[I_LAST_KEY_IDX] = 0
        f[F_LAST_KEY_MS] = sc[SC_TIME, 0]
    head, tail = i[I_LIST + 2 * L_PLI], i[I_LIST + 2 * L_PLI + 1]
    for k in range(n):
        c = sc[SC_TIME, k]
        due = False
        for r in range(head, tail):
            at = q[L_PLI, r, 0]
            if at <= c and (k == 0 or at > sc[SC_TIME, k - 1]):
                due = due or q[L_PLI, r, 1] >= i[I_LAST_KEY_IDX]
        if due:
            sc[SC_KEY, k] = 1.0
            i[I_LAST_KEY_IDX] = first + k
            f[F_LAST_KEY_MS] = c


@njit(cache=True)
def drop_due_requests(n: int, i: np.ndarray, q: np.ndarray, sc: np.ndarray) -> None:
    """The keyframe requests the interval's ``n`` (> 0) frames saw (:func:`keyframes`) leave the
    list: those that reached the sender by the last frame's capture (the others keep their
    order)."""
    head, tail = i[I_LIST + 2 * L_PLI], i[I_LIST + 2 * L_PLI + 1]
    last, keep = sc[SC_TIME, n - 1], head
    for r in range(head, tail):
        if q[L_PLI, r, 0] > last:
            q[L_PLI, keep, 0], q[L_PLI, keep, 1] = q[L_PLI, r, 0], q[L_PLI, r, 1]
            keep += 1
    i[I_LIST + 2 * L_PLI + 1] = keep


@njit(cache=True)
def frame_sizes_bytes(n: int, cell: np.ndarray, sc: np.ndarray, sci: np.ndarray) -> None:
    """:meth:`CodecProfile.frame_sizes_bytes` (and :class:`ExtendedProfile`'s scaling when
    ``cell[C_SCALE] > 0``) from the residual draws ``sci[SCI_DRAW]``, keyframes from
    ``sc[SC_KEY]``, into ``sc[SC_SIZE]``."""
    any_key = False
    for k in range(n):
        sc[SC_SIZE, k] = cell[C_P_BYTES] * cell[C_POOL + sci[SCI_DRAW, k]]
        any_key = any_key or sc[SC_KEY, k] != 0.0
    if any_key:
        last_key = -1
        for k in range(n):
            if sc[SC_KEY, k] != 0.0:
                last_key = k
                sc[SC_SIZE, k] = cell[C_KEY_BYTES]
            elif last_key >= 0 and k - last_key < cell[C_SETTLE]:
                sc[SC_SIZE, k] *= cell[C_PAYBACK]
    for k in range(n):
        size = max(np.rint(sc[SC_SIZE, k]), 1.0)  # round half to even, at least one byte
        if cell[C_SCALE] > 0.0:
            size = max(np.rint(size * cell[C_SCALE]), 1.0)
        sc[SC_SIZE, k] = size


@njit(cache=True)
def n_packets(n: int, p: np.ndarray, sc: np.ndarray) -> int:
    """Packets of the interval's frames (full payloads, the remainder in each frame's last)."""
    payload = int(p[P_PAYLOAD])
    m = 0
    for k in range(n):
        size = max(int(sc[SC_SIZE, k]), 1)
        m += -(-size // payload)
    return m


@njit(cache=True)
def pace(
    n: int,
    rate_kbps: float,
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    sc: np.ndarray,
    sci: np.ndarray,
) -> int:
    """Packetise each frame and pace it from the end of its encoding (``Pacer.rebase``, then
    ``Pacer.pace`` per frame): send times and sizes into ``sc[SC_SEND]``, ``sci[SCI_PSIZE]``, each
    frame's first packet into ``sci[SCI_START]``. Returns the bytes put on the wire."""
    payload, header = int(p[P_PAYLOAD]), int(p[P_HEADER])
    full = payload + header
    lead, before, free = f[F_PACER_FREE], 0.0, f[F_PACER_FREE]  # rebase
    m = 0
    total = 0
    for k in range(n):
        size = max(int(sc[SC_SIZE, k]), 1)
        n_pk = -(-size // payload)
        sci[SCI_START, k] = m
        d = (sc[SC_TIME, k] + p[P_ENCODE]) - before
        if d > lead:
            lead = d
        tx = 0.0
        for j in range(n_pk):
            z = full if j < n_pk - 1 else size - (n_pk - 1) * payload + header
            sc[SC_SEND, m] = before + lead
            sci[SCI_PSIZE, m] = z
            tx = z * p[P_BITS_PER_BYTE] / rate_kbps
            before += tx
            total += z
            m += 1
        free = sc[SC_SEND, m - 1] + tx
    f[F_PACER_FREE], f[F_PACER_BEFORE], f[F_PACER_LEAD] = free, before, lead
    return total


@njit(cache=True)
def send_interval(
    t0: float,
    t1: float,
    rate_kbps: float,
    fps: float,
    roi_level: int,
    cell: np.ndarray,
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    plan: np.ndarray,
    fr: np.ndarray,
    dl: np.ndarray,
    q: np.ndarray,
    sc: np.ndarray,
    sci: np.ndarray,
    bits: np.ndarray,
    buf: np.ndarray,
    opps: np.ndarray,
    table: np.ndarray,
    q_start: np.ndarray,
    q_size: np.ndarray,
) -> int:
    """``Timeline.send_interval``: the frame times, the frame sizes' residual draws (when
    ``i[I_DRAW]``), then :func:`send_frames`; ``i[I_SENT_BYTES]`` the bytes put on the wire."""
    n = frame_times(fps, t0, t1, f, p, sc)
    if n < 0:
        return NEED_SCRATCH
    i[I_N_TIMES] = n
    if n == 0:
        f[F_INTERVAL_LOSS] = 0.0
        i[I_SENT_BYTES] = 0
        return DONE
    if i[I_DRAW] == 0:
        return NEED_DRAWS
    for k in range(n):  # Generator.integers(0, len(pool), size=n)
        sci[SCI_DRAW, k] = bounded_uint32(bits, buf, cell.shape[0] - C_POOL - 1)
    return send_frames(
        rate_kbps, fps, roi_level, cell, f, i, p, plan, fr, dl, q, sc, sci, bits, opps, table,
        q_start, q_size,
    )  # fmt: skip


@njit(cache=True)
def send_frames(
    rate_kbps: float,
    fps: float,
    roi_level: int,
    cell: np.ndarray,
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    plan: np.ndarray,
    fr: np.ndarray,
    dl: np.ndarray,
    q: np.ndarray,
    sc: np.ndarray,
    sci: np.ndarray,
    bits: np.ndarray,
    opps: np.ndarray,
    table: np.ndarray,
    q_start: np.ndarray,
    q_size: np.ndarray,
) -> int:
    """The rest of ``Timeline.send_interval`` for the ``i[I_N_TIMES]`` frames and their residual
    draws: keyframes, sizes, packets, pacing, the link (when ``i[I_INLINE]``, with its random loss
    ``p[P_L_LOSS]``) and the receiver (:func:`receive`).

    ``NEED_ROOM`` (``i[I_N_PACKETS]``: the packets to make room for) before any state changes;
    ``NEED_LINK`` once paced (``i[I_N_PACKETS]`` packets in ``sc[SC_SEND]``/``sci[SCI_PSIZE]``).
    """
    n = i[I_N_TIMES]
    # the sizes first, the keyframe state saved: room is checked before any change
    last_key_idx, last_key_ms = i[I_LAST_KEY_IDX], f[F_LAST_KEY_MS]
    keyframes(n, f, i, q, sc)
    frame_sizes_bytes(n, cell, sc, sci)
    m = n_packets(n, p, sc)
    i[I_N_PACKETS] = m
    need = m + n + live(i, L_PK_WAIT) + live(i, L_FLOSS)
    fits = (
        m <= sc.shape[1]
        and i[I_N_FRAMES] + n <= fr.shape[0]
        and (i[I_INLINE] == 0 or i[I_L_TAIL] + m <= q_start.shape[0])
    )
    for lst in range(N_LISTS):
        fits = fits and room(q, i, lst, need)
    if not fits:  # undo the keyframes' changes
        i[I_LAST_KEY_IDX], f[F_LAST_KEY_MS] = last_key_idx, last_key_ms
        return NEED_ROOM
    drop_due_requests(n, i, q, sc)
    i[I_SENT_BYTES] = pace(n, p[P_PACING] * rate_kbps, f, i, p, sc, sci)
    if i[I_INLINE] == 0:
        return NEED_LINK
    dropped = lk.link_send(
        sc[SC_SEND, :m],
        sci[SCI_PSIZE, :m],
        opps,
        table,
        int(p[P_L_PERIOD]),
        p[P_L_START],
        p[P_L_DELAY],
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
        sc[SC_DEP, :m],
        sc[SC_ARR, :m],
    )
    if dropped == lk.DECLINED:
        return DECLINED
    i[I_L_SENT] += m
    i[I_L_DROPPED] += dropped
    f[F_L_LAST_SEND] = sc[SC_SEND, m - 1]
    if p[P_L_LOSS] > 0.0:  # BernoulliLoss.sample over the packets the queue carried, in order
        for k in range(m):
            if sc[SC_DEP, k] == sc[SC_DEP, k] and next_double(bits) < p[P_L_LOSS]:
                sc[SC_ARR, k] = math.nan
                i[I_L_LOST] += 1
    receive(rate_kbps, fps, roi_level, f, i, p, plan, fr, dl, q, sc, sci)
    return DONE


# ------------------------------------------------------------------ receiver


@njit(cache=True)
def pend_frame(
    q: np.ndarray, i: np.ndarray, known: float, idx: int, cap: float, dec: float
) -> None:
    """``Timeline._pend_frame``: queue a frame report, keeping ``L_FR`` sorted by ``known``."""
    head, tail = i[I_LIST + 2 * L_FR], i[I_LIST + 2 * L_FR + 1]
    if head == tail or q[L_FR, tail - 1, FRR_KNOWN] <= known:
        push(q, i, L_FR, known, idx, cap, dec, 0.0)
    else:  # learned before a frame queued earlier (a lost frame's fallback time, say)
        push(q, i, L_FR_LATE, known, idx, cap, dec, 0.0)


@njit(cache=True)
def notice_frame_loss(
    fr_id: int,
    known: float,
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    fr: np.ndarray,
    q: np.ndarray,
) -> None:
    """``Timeline._notice_frame_loss``: the receiver noticed at ``known`` that a frame is lost: a
    PLI (``DecodeChain.request_keyframe``; at once) and a frame report (at the next feedback
    tick)."""
    fb = p[P_FB]
    if not (p[P_PLI_INTERVAL] > 0.0 and known - f[F_LAST_PLI] < p[P_PLI_INTERVAL]):
        f[F_LAST_PLI] = known
        push(q, i, L_PLI, known + fb, fr_id, 0.0, 0.0, 0.0)
        push(q, i, L_PLI_REP, known + fb, 0.0, 0.0, 0.0, 0.0)
    report = report_tick_ms(known, p[P_FB_INTERVAL]) + fb
    pend_frame(q, i, report, fr_id, fr[fr_id, FC_CAPTURE], math.nan)


@njit(cache=True)
def add_frame(
    c: float,
    rate_kbps: float,
    fps: float,
    roi_level: int,
    key: bool,
    f: np.ndarray,
    i: np.ndarray,
    plan: np.ndarray,
    fr: np.ndarray,
) -> int:
    """``Timeline._add_frame``: record a frame captured at ``c`` (``key``: a keyframe); returns
    its index."""
    fid = i[I_N_FRAMES]
    i[I_N_FRAMES] = fid + 1
    fr[fid, FC_CAPTURE] = c
    fr[fid, FC_KEY] = c if key or fid == 0 else fr[fid - 1, FC_KEY]
    fr[fid, FC_DEC] = math.nan
    fr[fid, FC_RATE] = rate_kbps
    fr[fid, FC_FPS] = fps
    fr[fid, FC_ROI] = roi_level
    at = f[F_REGION_MS]
    if at != at:
        at = c
    region = np.searchsorted(plan[0], at, side="right") - 1  # QuestionBook.region_at
    if at < 0.0:  # no report held yet
        region = -1
    fr[fid, FC_REGION] = region if region >= 0 and plan[1, region] != 0.0 else -1
    return fid


@njit(cache=True)
def receive(
    rate_kbps: float,
    fps: float,
    roi_level: int,
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    plan: np.ndarray,
    fr: np.ndarray,
    dl: np.ndarray,
    q: np.ndarray,
    sc: np.ndarray,
    sci: np.ndarray,
) -> None:
    """The end of ``Timeline.send_interval`` once the link gave each packet's arrival
    (``sc[SC_ARR]``, NaN: lost): losses revealed, ``Timeline._receive``, the packet reports."""
    n, m = i[I_N_TIMES], i[I_N_PACKETS]
    n_lost, first_ms = lost_and_first(sc[SC_ARR], m)
    if first_ms == first_ms:  # a packet arrived: it reveals the losses still waiting
        head, tail = i[I_LIST + 2 * L_FLOSS], i[I_LIST + 2 * L_FLOSS + 1]
        i[I_LIST + 2 * L_FLOSS], i[I_LIST + 2 * L_FLOSS + 1] = 0, 0
        for r in range(head, tail):
            lost, timer = int(q[L_FLOSS, r, 0]), q[L_FLOSS, r, 1]
            notice_frame_loss(lost, pymin(timer, first_ms), f, i, p, fr, q)
    receive_frames(n, m, n_lost, rate_kbps, fps, roi_level, f, i, p, plan, fr, dl, q, sc, sci)
    queue_packet_reports(
        m, n_lost, first_ms, sc[SC_SEND], sc[SC_ARR], sci[SCI_PSIZE], sc[SC_KNOWN], f, i, p, q
    )  # fmt: skip


@njit(cache=True)
def lost_and_first(arrival: np.ndarray, m: int) -> tuple[int, float]:
    """The lost packets among the first ``m`` (NaN arrivals) and the first arrival: Python's
    ``min`` over the list, which keeps a leading NaN (NaN when every packet was lost)."""
    n_lost = 0
    for k in range(m):
        if arrival[k] != arrival[k]:
            n_lost += 1
    first_ms = math.nan
    if n_lost < m:
        first_ms = arrival[0]
        for k in range(1, m):
            if arrival[k] < first_ms:
                first_ms = arrival[k]
    return n_lost, first_ms


@njit(cache=True)
def receive_frames(
    n: int,
    m: int,
    n_lost: int,
    rate_kbps: float,
    fps: float,
    roi_level: int,
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    plan: np.ndarray,
    fr: np.ndarray,
    dl: np.ndarray,
    q: np.ndarray,
    sc: np.ndarray,
    sci: np.ndarray,
) -> None:
    """``Timeline._receive``: completeness, reference chain (``DecodeChain.decodable_ms``), PLI,
    decodable times, frame reports."""
    fb, every = p[P_FB], p[P_FB_INTERVAL]
    arrival = sc[SC_ARR]
    for k in range(n):
        c = sc[SC_TIME, k]
        fid = add_frame(c, rate_kbps, fps, roi_level, sc[SC_KEY, k] != 0.0, f, i, plan, fr)
        start = sci[SCI_START, k]
        end = sci[SCI_START, k + 1] if k + 1 < n else m
        frame_arr = -math.inf  # its packets' maximum, NaN when one is missing
        first_lost = -1
        for j in range(start, end):
            x = arrival[j]
            if n_lost and x != x:
                first_lost = j
                break
            if x > frame_arr:
                frame_arr = x
        complete = first_lost < 0
        dec = math.nan
        if complete and (sc[SC_KEY, k] != 0.0 or i[I_CHAIN_OK]):
            dec = pymax(frame_arr, f[F_LAST_DEC])
            i[I_CHAIN_OK] = 1
            f[F_LAST_DEC] = dec
        else:
            i[I_CHAIN_OK] = 0
        fr[fid, FC_DEC] = dec
        if dec == dec:
            row = i[I_N_DECODED]
            dl[row, DL_FRAME], dl[row, DL_DEC], dl[row, DL_CAP] = fid, dec, c
            i[I_N_DECODED] = row + 1
            pend_frame(q, i, report_tick_ms(dec, every) + fb, fid, c, dec)
            continue
        if complete:
            pend_frame(q, i, report_tick_ms(frame_arr, every) + fb, fid, c, math.nan)
            continue
        # noticed when a later packet arrives, or by the frame timer if the frame had begun
        timer = frame_arr + p[P_FRAME_TIMEOUT] if first_lost > start else math.inf
        after = math.nan
        for j in range(first_lost + 1, m):
            x = arrival[j]
            if x == x and not after <= x:  # the first, then any smaller
                after = x
        if after == after:
            notice_frame_loss(fid, pymin(after, timer), f, i, p, fr, q)
        else:
            push(q, i, L_FLOSS, fid, timer, 0.0, 0.0, 0.0)


@njit(cache=True)
def queue_packet_reports(
    m: int,
    n_lost: int,
    first_ms: float,
    send: np.ndarray,
    arrival: np.ndarray,
    size: np.ndarray,
    known: np.ndarray,
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
) -> None:
    """``Timeline._queue_packet_reports``: when the sender learns each packet's fate, its arrival
    or the next arrival after it (into ``known``, scratch of ``m`` slots at least); ``first_ms``
    reveals the earlier intervals' tail losses; each known at its feedback tick, ``fb`` on."""
    fb, every = p[P_FB], p[P_FB_INTERVAL]
    f[F_INTERVAL_LOSS] = n_lost / m
    seq0 = i[I_SEQ]
    i[I_SEQ] = seq0 + m
    w_head, w_tail = i[I_LIST + 2 * L_PK_WAIT], i[I_LIST + 2 * L_PK_WAIT + 1]
    n_rows = 0
    if first_ms == first_ms:
        n_rows = w_tail - w_head
    j = m
    if n_lost:
        next_arr = math.inf  # minimum arrival after the packet (minimum.accumulate, reversed)
        for k in range(m - 1, -1, -1):
            x = arrival[k]
            if x == x:
                if x < next_arr:
                    next_arr = x
                known[k] = report_tick_ms(x, every) + fb
            else:
                known[k] = report_tick_ms(next_arr, every) + fb
        while j and known[j - 1] == math.inf:  # no later arrival: the interval's tail
            j -= 1
    else:
        for k in range(m):
            known[k] = report_tick_ms(arrival[k], every) + fb
    # the rows revealed by first_ms come first, then the interval's; in order, they extend L_PK
    row_known = report_tick_ms(first_ms, every) + fb
    pk_head, pk_tail = i[I_LIST + 2 * L_PK], i[I_LIST + 2 * L_PK + 1]
    if n_rows or j:
        first = row_known if n_rows else known[0]
        ordered = pk_head == pk_tail or q[L_PK, pk_tail - 1, PK_KNOWN] <= first
        for k in range(j):
            if k == 0:
                ordered = ordered and (not n_rows or row_known <= known[0])
            else:
                ordered = ordered and known[k - 1] <= known[k]
        lst = L_PK if ordered else L_PK_LATE
        for r in range(w_head, w_head + n_rows):
            push(
                q,
                i,
                lst,
                row_known,
                q[L_PK_WAIT, r, 0],
                q[L_PK_WAIT, r, 1],
                math.nan,
                q[L_PK_WAIT, r, 2],
            )
        for k in range(j):
            push(q, i, lst, known[k], seq0 + k, send[k], arrival[k], size[k])
    if n_rows:
        i[I_LIST + 2 * L_PK_WAIT], i[I_LIST + 2 * L_PK_WAIT + 1] = 0, 0
    for k in range(j, m):
        push(q, i, L_PK_WAIT, seq0 + k, send[k], size[k], 0.0, 0.0)


# ------------------------------------------------------------------ the link's capacity


@kernel
def opportunities_by(
    x_ms: float, start_ms: float, period_ms: float, n_opps: int, table: np.ndarray
) -> float:
    """The trace's delivery opportunities up to episode time ``x_ms`` (``Timeline.capacity_kbps``'s
    count): whole periods, then the table's entry for the phase (opportunities are whole ms)."""
    x_ms += start_ms
    phase = x_ms % period_ms
    return (x_ms // period_ms) * n_opps + float(table[int(phase)])


@kernel
def capacity_kbps(
    t0: float,
    t1: float,
    start_ms: float,
    period_ms: float,
    n_opps: int,
    table: np.ndarray,
    mtu_bytes: int,
) -> float:
    """``Timeline.capacity_kbps``: the link's capacity over [t0, t1) of episode time, from the
    trace's table of opportunities through each ms of its period (privileged: plots, the oracle)."""
    after = opportunities_by(t1, start_ms, period_ms, n_opps, table)
    before = opportunities_by(t0, start_ms, period_ms, n_opps, table)
    return (after - before) * mtu_bytes * 8.0 / (t1 - t0)


# ------------------------------------------------------------------ the MLLM


@kernel
def mllm_samples(
    t1: float,
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    plan: np.ndarray,
    dl: np.ndarray,
    out: np.ndarray,
) -> tuple[int, int, int]:
    """``MllmSampler.due`` and the look-ups of ``Timeline.sample_mllm``: the samples before
    ``t1``, each of the freshest frame decodable then (``DecodeLog.freshest_at``). Returns their
    number, how many of them need an accuracy (a frame and a predicted region: frame id, question
    and instant in ``out``'s rows) and how many were stale (no frame, or the previous one); minus
    their number (nothing changed) when ``out`` has fewer rows."""
    period = p[P_MS_PER_S] / p[P_MLLM_FPS]
    due, s = 0, f[F_SAMPLE_NEXT]
    while s < t1:
        s += period
        due += 1
    if due > out.shape[0]:
        return -due, 0, 0
    decodable = dl[: i[I_N_DECODED], DL_DEC]
    n = n_acc = stale = 0
    while f[F_SAMPLE_NEXT] < t1:
        s = f[F_SAMPLE_NEXT]
        f[F_SAMPLE_NEXT] += period
        k = np.searchsorted(decodable, s, side="right") - 1
        if k < 0 or k == i[I_SAMPLE_LAST]:
            stale += 1
        if k >= 0:
            i[I_SAMPLE_LAST] = k
            j = np.searchsorted(plan[0], s, side="right") - 1  # QuestionBook.region_at
            if j >= 0:
                out[n_acc, 0], out[n_acc, 1], out[n_acc, 2] = dl[k, DL_FRAME], j, s
                n_acc += 1
        n += 1
    return n, n_acc, stale


# ------------------------------------------------------------------ the webrtc receiver


@kernel
def send_interval_webrtc(
    t0: float,
    t1: float,
    rate_kbps: float,
    fps: float,
    roi_level: int,
    cell: np.ndarray,
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    plan: np.ndarray,
    fr: np.ndarray,
    q: np.ndarray,
    sc: np.ndarray,
    sci: np.ndarray,
    bits: np.ndarray,
    buf: np.ndarray,
    w_i: np.ndarray,
    w_pk_f: np.ndarray,
    w_pk_i: np.ndarray,
    w_qi: np.ndarray,
    w_frame_rows: int,
) -> int:
    """``Timeline._send_interval_webrtc`` up to the transport's run: the frame times, the
    residual draws (when ``i[I_DRAW]``), then :func:`enqueue_frames`."""
    n = frame_times(fps, t0, t1, f, p, sc)
    if n < 0:
        return NEED_SCRATCH
    i[I_N_TIMES] = n
    f[F_INTERVAL_LOSS] = 0.0
    i[I_SENT_BYTES] = 0
    if n == 0:
        return DONE
    if i[I_DRAW] == 0:
        return NEED_DRAWS
    for k in range(n):  # Generator.integers(0, len(pool), size=n)
        sci[SCI_DRAW, k] = bounded_uint32(bits, buf, cell.shape[0] - C_POOL - 1)
    return enqueue_frames(
        rate_kbps, fps, roi_level, cell, f, i, p, plan, fr, q, sc, sci, w_i, w_pk_f, w_pk_i,
        w_qi, w_frame_rows,
    )  # fmt: skip


@kernel
def interval_webrtc(
    t0: float,
    t1: float,
    rate_kbps: float,
    fps: float,
    roi_level: int,
    pacing_kbps: float,
    cell: np.ndarray,
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    plan: np.ndarray,
    fr: np.ndarray,
    dl: np.ndarray,
    q: np.ndarray,
    sc: np.ndarray,
    sci: np.ndarray,
    bits: np.ndarray,
    buf: np.ndarray,
    w_f: np.ndarray,
    w_i: np.ndarray,
    w_p: np.ndarray,
    w_pk_f: np.ndarray,
    w_pk_i: np.ndarray,
    w_fr_f: np.ndarray,
    w_fr_i: np.ndarray,
    w_qf: np.ndarray,
    w_qi: np.ndarray,
    w_shown_f: np.ndarray,
    w_shown_i: np.ndarray,
    l_opps: np.ndarray,
    l_table: np.ndarray,
    l_start: np.ndarray,
    l_size: np.ndarray,
) -> tuple[int, int]:
    """``Timeline._send_interval_webrtc`` after the keyframe requests' gating, in one call when
    nothing needs Python: :func:`send_interval_webrtc`, the transport's run (its kernel
    ``run_until``, on the link arrays ``l_*``), :func:`receive_webrtc`. Returns ``(DONE, DONE)``,
    or where it stopped and that call's answer, for the caller to go on from there:
    ``(AT_SEND, status)``, ``(AT_RUN, run_until's status)``, ``(AT_OUTBOX, DONE)`` (the receiver
    sent keyframe requests, which the caller takes before :func:`receive_webrtc`) or
    ``(AT_RECEIVE, NEED_ROOM)``."""
    status = send_interval_webrtc(
        t0, t1, rate_kbps, fps, roi_level, cell, f, i, p, plan, fr, q, sc, sci, bits, buf, w_i,
        w_pk_f, w_pk_i, w_qi, w_fr_i.shape[0],
    )  # fmt: skip
    if status != DONE:
        return AT_SEND, status
    w_i[int(p[P_W_I_N_SHOWN])] = 0
    status = wk.run_until(
        t1, pacing_kbps, rate_kbps, w_f, w_i, w_p, w_pk_f, w_pk_i, w_fr_f, w_fr_i, w_qf, w_qi,
        w_shown_f, w_shown_i, l_opps, l_table, l_start, l_size,
    )  # fmt: skip
    if status != int(p[P_W_DONE]):
        return AT_RUN, status
    if w_i[int(p[P_W_I_PLI_TAIL])]:
        return AT_OUTBOX, DONE
    status = receive_webrtc(f, i, p, fr, dl, q, sc, w_i, w_qf, w_qi, w_shown_f, w_shown_i)
    return (DONE if status == DONE else AT_RECEIVE), status


@kernel
def enqueue_frames(
    rate_kbps: float,
    fps: float,
    roi_level: int,
    cell: np.ndarray,
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    plan: np.ndarray,
    fr: np.ndarray,
    q: np.ndarray,
    sc: np.ndarray,
    sci: np.ndarray,
    w_i: np.ndarray,
    w_pk_f: np.ndarray,
    w_pk_i: np.ndarray,
    w_qi: np.ndarray,
    w_frame_rows: int,
) -> int:
    """The ``i[I_N_TIMES]`` frames into the webrtc transport: keyframes, sizes, each frame
    recorded and its packets enqueued (``WebRtcTransport.enqueue_frame``, its kernel);
    ``i[I_SENT_BYTES]`` their bytes. ``NEED_ROOM`` (``i[I_N_PACKETS]`` packets) before any state
    changes but the frame times and draws."""
    n = i[I_N_TIMES]
    last_key_idx, last_key_ms = i[I_LAST_KEY_IDX], f[F_LAST_KEY_MS]
    keyframes(n, f, i, q, sc)
    frame_sizes_bytes(n, cell, sc, sci)
    m = n_packets(n, p, sc)
    i[I_N_PACKETS] = m
    last_frame = i[I_N_FRAMES] + n - 1
    last_seq = w_i[int(p[P_W_I_SEQ])] + m - 1
    if (
        i[I_N_FRAMES] + n > fr.shape[0]
        or m > sci.shape[1]
        or last_seq - wk.live_seq(w_i, w_pk_i, w_qi) >= w_pk_f.shape[0]
        or last_frame - w_i[int(p[P_W_I_LAST_RELEASED])] >= w_frame_rows - 2
    ):  # undo the keyframes' changes
        i[I_LAST_KEY_IDX], f[F_LAST_KEY_MS] = last_key_idx, last_key_ms
        return NEED_ROOM
    drop_due_requests(n, i, q, sc)
    payload, header = int(p[P_PAYLOAD]), int(p[P_HEADER])
    sizes = sci[SCI_PSIZE]  # each frame's packet sizes in turn
    total = 0
    for k in range(n):
        size = max(int(sc[SC_SIZE, k]), 1)
        n_pk = -(-size // payload)
        for j in range(n_pk):
            sizes[j] = payload + header if j < n_pk - 1 else size - (n_pk - 1) * payload + header
            total += sizes[j]
        c = sc[SC_TIME, k]
        fid = add_frame(c, rate_kbps, fps, roi_level, sc[SC_KEY, k] != 0.0, f, i, plan, fr)
        wk.enqueue_frame(
            w_i, w_pk_f, w_pk_i, w_qi, fid, c, sc[SC_KEY, k] != 0.0, c + p[P_ENCODE],
            sizes[:n_pk], w_frame_rows,
        )  # fmt: skip
    i[I_SENT_BYTES] = total
    return DONE


@kernel
def receive_webrtc(
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    fr: np.ndarray,
    dl: np.ndarray,
    q: np.ndarray,
    sc: np.ndarray,
    w_i: np.ndarray,
    w_qf: np.ndarray,
    w_qi: np.ndarray,
    shown_f: np.ndarray,
    shown_i: np.ndarray,
) -> int:
    """The end of ``Timeline._send_interval_webrtc`` after the transport's run: each frame's fate
    (``run_until_fates``' arithmetic: shown time, retransmission wait, jitter-buffer hold, the
    frame report), then the transmissions (``take_sent``) as packet reports; the retransmitted
    bytes added to ``i[I_SENT_BYTES]``. ``NEED_ROOM`` (nothing changed) when a list or the scratch
    must grow."""
    n_shown = w_i[int(p[P_W_I_N_SHOWN])]
    tail = int(p[P_W_I_SENT_TAIL])
    m = w_i[tail]  # the sent ring's slots 0..m-1
    need = m + n_shown + live(i, L_PK_WAIT)
    fits = i[I_N_DECODED] + n_shown <= dl.shape[0] and m <= sc.shape[1]
    for lst in (L_PK, L_PK_LATE, L_PK_WAIT, L_FR, L_FR_LATE):
        fits = fits and room(q, i, lst, need)
    if not fits:
        return NEED_ROOM
    fb, every = p[P_FB], p[P_FB_INTERVAL]
    for r in range(n_shown):
        fid = shown_i[r, int(p[P_W_SI_FRAME])]
        c = shown_f[r, int(p[P_W_SF_COMPLETE])]
        cont = shown_f[r, int(p[P_W_SF_CONTINUOUS])]
        sink = shown_f[r, int(p[P_W_SF_SINK])]
        own = c - shown_f[r, int(p[P_W_SF_ORIGINAL])] if shown_i[r, int(p[P_W_SI_NACKED])] else 0.0
        fr[fid, FC_DEC] = sink
        cap = fr[fid, FC_CAPTURE]
        if sink == sink:
            row = i[I_N_DECODED]
            dl[row, DL_FRAME], dl[row, DL_DEC], dl[row, DL_CAP] = fid, sink, cap
            dl[row, DL_RTX_WAIT] = (own if own == own else 0.0) + (cont - c)
            dl[row, DL_HOLD] = shown_f[r, int(p[P_W_SF_RELEASE])] - cont
            i[I_N_DECODED] = row + 1
        known = report_tick_ms(shown_f[r, int(p[P_W_SF_DECIDED])], every) + fb
        pend_frame(q, i, known, fid, cap, sink)
    if m:
        send = w_qf[int(p[P_W_QF_SENT_SEND]), :m]
        arrival = w_qf[int(p[P_W_QF_SENT_ARR]), :m]
        size = w_qi[int(p[P_W_QI_SENT_SIZE]), :m]
        n_lost, first_ms = lost_and_first(arrival, m)
        queue_packet_reports(m, n_lost, first_ms, send, arrival, size, sc[SC_KNOWN], f, i, p, q)
        rtx = 0
        for k in range(m):
            if w_qi[int(p[P_W_QI_SENT_RTX]), k] != 0:
                rtx += size[k]
        i[I_SENT_BYTES] += rtx
        w_i[tail] = 0
    return DONE


# ------------------------------------------------------------------ feedback


@njit(cache=True)
def take_due(
    t_ms: float, i: np.ndarray, q: np.ndarray, main: int, late: int, order: int, rows: np.ndarray
) -> int:
    """The reports known by ``t_ms`` into ``rows[:n]``, returns ``n`` (``Timeline._due_packets``,
    and ``Timeline.feedback``'s frames): the prefix of list ``main`` (in ``known`` order) and the
    rows of ``late`` known by then (those sorted with them by field ``order``, stably: sequence
    number, frame id); they leave the lists."""
    head, tail = i[I_LIST + 2 * main], i[I_LIST + 2 * main + 1]
    nd = head
    while nd < tail and q[main, nd, 0] <= t_ms:  # bisect_right on a short prefix
        nd += 1
    n = nd - head
    for r in range(n):
        for c in range(N_Q):
            rows[r, c] = q[main, head + r, c]
    i[I_LIST + 2 * main] = nd
    n_main, keep = n, i[I_LIST + 2 * late]
    for r in range(i[I_LIST + 2 * late], i[I_LIST + 2 * late + 1]):
        if q[late, r, 0] <= t_ms:
            for c in range(N_Q):
                rows[n, c] = q[late, r, c]
            n += 1
        else:
            for c in range(N_Q):
                q[late, keep, c] = q[late, r, c]
            keep += 1
    i[I_LIST + 2 * late + 1] = keep
    if n > n_main:  # an insertion sort: stable, as np.argsort(kind="mergesort")
        for r in range(1, n):
            j = r
            while j > 0 and rows[j - 1, order] > rows[j, order]:
                for c in range(N_Q):
                    rows[j - 1, c], rows[j, c] = rows[j, c], rows[j - 1, c]
                j -= 1
    return n


@njit(cache=True)
def feedback_fits(
    i: np.ndarray, q: np.ndarray, rows: np.ndarray, ints: np.ndarray, floats: np.ndarray
) -> bool:
    """Whether :func:`feedback` has room: the lists the frame timers' notices extend, the
    scratch ``rows`` and the pools for every pending report (see ``CompiledTimeline._feedback_room``)."""
    need = live(i, L_FLOSS)
    fits = room(q, i, L_FR, need) and room(q, i, L_FR_LATE, need)
    fits = fits and room(q, i, L_PLI, need) and room(q, i, L_PLI_REP, need)
    n = live(i, L_PK) + live(i, L_PK_LATE)
    n_frames = live(i, L_FR) + live(i, L_FR_LATE) + need
    return (
        fits
        and max(n, n_frames) <= rows.shape[0]
        and i[I_FB_INTS] + 2 * n + n_frames <= ints.shape[0]
        and i[I_FB_FLOATS] + 2 * n + 2 * n_frames <= floats.shape[0]
    )


@kernel
def feedback(
    t_ms: float,
    f: np.ndarray,
    i: np.ndarray,
    p: np.ndarray,
    fr: np.ndarray,
    q: np.ndarray,
    rows: np.ndarray,
    ints: np.ndarray,
    floats: np.ndarray,
) -> tuple[int, int, int, int, bool]:
    """``Timeline.feedback``'s transport part: the packets and frames known by ``t_ms`` (the frame
    timers that fired by then noticed first), and whether a keyframe request arrived.

    The reports go to two pools from their next free slots on (``i[I_FB_INTS]``,
    ``i[I_FB_FLOATS]``, which it advances, so that each slot is written once: the caller's reports
    are views of them): ``ints`` the ``n`` packets' sequence numbers and sizes, then the
    ``n_frames`` frame ids; ``floats`` the packets' send and arrival times, then the frames'
    capture and decodable times. Returns ``(first int slot, first float slot, n, n_frames,
    keyframe request)``; ``i[I_FB_STATUS]`` is ``NEED_ROOM`` (and nothing changed) when the
    lists, the scratch ``rows`` or the pools need room first (:func:`feedback_fits`).
    """
    if not feedback_fits(i, q, rows, ints, floats):
        i[I_FB_STATUS] = NEED_ROOM
        return 0, 0, 0, 0, False
    i[I_FB_STATUS] = DONE
    a, b = i[I_FB_INTS], i[I_FB_FLOATS]
    n = take_due(t_ms, i, q, L_PK, L_PK_LATE, PK_SEQ, rows)
    for r in range(n):
        ints[a + r], ints[a + n + r] = int(rows[r, PK_SEQ]), int(rows[r, PK_SIZE])
        floats[b + r], floats[b + n + r] = rows[r, PK_SEND], rows[r, PK_ARR]
    # a frame timer that fired by now: no packet arrived since (every later one arrives later);
    # the notices extend other lists than this one
    head, tail = i[I_LIST + 2 * L_FLOSS], i[I_LIST + 2 * L_FLOSS + 1]
    keep = head
    for r in range(head, tail):
        if q[L_FLOSS, r, 1] <= t_ms:
            notice_frame_loss(int(q[L_FLOSS, r, 0]), q[L_FLOSS, r, 1], f, i, p, fr, q)
        else:
            q[L_FLOSS, keep, 0], q[L_FLOSS, keep, 1] = q[L_FLOSS, r, 0], q[L_FLOSS, r, 1]
            keep += 1
    i[I_LIST + 2 * L_FLOSS + 1] = keep
    n_frames = take_due(t_ms, i, q, L_FR, L_FR_LATE, FRR_IDX, rows)
    for r in range(n_frames):
        ints[a + 2 * n + r] = int(rows[r, FRR_IDX])
        floats[b + 2 * n + r] = rows[r, FRR_CAP]
        floats[b + 2 * n + n_frames + r] = rows[r, FRR_DEC]
    i[I_FB_INTS], i[I_FB_FLOATS] = a + 2 * n + n_frames, b + 2 * n + 2 * n_frames
    kf = False
    head, tail = i[I_LIST + 2 * L_PLI_REP], i[I_LIST + 2 * L_PLI_REP + 1]
    keep = head
    for r in range(head, tail):
        if q[L_PLI_REP, r, 0] <= t_ms:
            kf = True
        else:
            q[L_PLI_REP, keep, 0] = q[L_PLI_REP, r, 0]
            keep += 1
    i[I_LIST + 2 * L_PLI_REP + 1] = keep
    return a, b, n, n_frames, kf

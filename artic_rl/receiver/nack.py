"""libwebrtc's NACK requester and the receiver's RTT estimate.

After ``modules/video_coding/nack_requester.cc`` and ``video/call_stats2.cc`` (commits in
../shared/research/webrtc-receiver.md, section 1). A packet that reveals a gap puts every missing
sequence number on the list and NACKs them at once (the reordering wait is 0 packets: libwebrtc
hard-codes ``is_retransmitted``, so its histogram never fills). A periodic task re-NACKs every
entry last NACKed at least one RTT ago; an entry NACKed ``nack_max_retries`` times is dropped,
with no keyframe request. A list that overflows is cleared and asks for a keyframe.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from artic_rl.receiver.config import WebRtcReceiverConfig


@dataclass
class NackEntry:
    sent_ms: float  # when last NACKed (-inf: not yet)
    retries: int  # how many times NACKed


class NackList:
    """Missing sequence numbers and when to NACK them.

    ``entries`` maps each missing sequence number to its entry. Two queues give the order without
    rescanning the list: the entries in the order they were last NACKed (the due ones are a prefix,
    NACKed at once with the gap or re-NACKed at one tick, so their NACK times never decrease) and in
    sequence order (a gap's sequence numbers exceed every earlier one). A removed entry stays in the
    queues until it reaches their front; a sequence number joins the list at most once.
    """

    def __init__(self, config: WebRtcReceiverConfig) -> None:
        self.config = config
        self.newest: int | None = None
        self.entries: dict[int, NackEntry] = {}
        self.overflowed = False  # set when the list overflowed: the caller sends a PLI
        self._by_nack: deque[int] = deque()  # in the order last NACKed (then by sequence)
        self._by_seq: deque[int] = deque()  # in sequence order

    def on_packet(self, seq: int, now_ms: float) -> tuple[int, list[int]]:
        """A packet arrived: how often it was NACKed, and the sequence numbers to NACK now."""
        if self.newest is None or seq == self.newest + 1:  # the first, or the next: no gap
            self.newest = seq
            return 0, []
        if seq <= self.newest:
            entry = self.entries.pop(seq, None)
            return (entry.retries if entry is not None else 0), []
        missing = range(self.newest + 1, seq)
        self.newest = seq
        if len(self.entries) + len(missing) > self.config.nack_max_list:
            self._clear()
            self.overflowed = True
            return 0, []
        self._by_seq.extend(missing)
        if self.config.nack_send_delay_ms > 0.0:  # simplified: sent at the task's next run
            for s in missing:
                self.entries[s] = NackEntry(-math.inf, 0)
            return 0, []
        # only the new gap is unsent: NACKed at once (a first NACK never reaches the retry limit
        # unless that limit is 1)
        if self.config.nack_max_retries > 1:
            for s in missing:
                self.entries[s] = NackEntry(now_ms, 1)
            self._by_nack.extend(missing)
        return 0, list(missing)

    def on_tick(self, now_ms: float, rtt_ms: float) -> list[int]:
        """The periodic task: re-NACK every entry NACKed at least ``rtt_ms`` ago, in order."""
        if self.config.nack_send_delay_ms > 0.0:
            return self._batch(now_ms, lambda e: now_ms - e.sent_ms >= rtt_ms)
        entries, queue, max_retries = self.entries, self._by_nack, self.config.nack_max_retries
        due: list[int] = []
        while queue:
            entry = entries.get(queue[0])
            if entry is not None:
                if now_ms - entry.sent_ms < rtt_ms:
                    break
                entry.retries += 1
                entry.sent_ms = now_ms
                due.append(queue[0])
            queue.popleft()
        for seq in due:  # NACKed now: to the back, in the same order
            if entries[seq].retries < max_retries:
                queue.append(seq)
            else:
                del entries[seq]
        due.sort()
        return due

    def _batch(self, now_ms: float, due: Callable[[NackEntry], bool]) -> list[int]:
        out: list[int] = []
        for seq in list(self.entries):
            entry = self.entries[seq]
            if not due(entry):
                continue
            out.append(seq)
            entry.retries += 1
            entry.sent_ms = now_ms
            if entry.retries >= self.config.nack_max_retries:
                del self.entries[seq]
        return out

    def clear_up_to(self, seq: int) -> None:
        """A frame ending at ``seq`` became continuous: older gaps no longer matter."""
        entries, by_seq = self.entries, self._by_seq
        while by_seq and by_seq[0] < seq:
            entries.pop(by_seq.popleft(), None)
        if not entries:
            self._clear()

    def _clear(self) -> None:
        self.entries.clear()
        self._by_nack.clear()
        self._by_seq.clear()


class RttEstimate:
    """The maximum RTT reported within the last ``rtt_window_ms`` (the default before any)."""

    def __init__(self, config: WebRtcReceiverConfig) -> None:
        self.config = config
        self._samples: deque[tuple[float, float]] = deque()
        self._last_ms = config.rtt_default_ms

    def on_sample(self, now_ms: float, rtt_ms: float) -> None:
        self._samples.append((now_ms, rtt_ms))
        self._last_ms = rtt_ms

    def rtt_ms(self, now_ms: float) -> float:
        while self._samples and now_ms - self._samples[0][0] > self.config.rtt_window_ms:
            self._samples.popleft()
        if not self._samples:
            return self._last_ms  # no report in the window: keep the last one
        return max(r for _, r in self._samples)

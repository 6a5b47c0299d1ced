"""The sender's pacer: packets leave back to back at the pacing rate, never before they are ready.

One rule for the simulator and the streamer. Packet ``i`` leaves at
``d_i = max(ready_i, d_{i-1} + tx_{i-1})`` with ``tx = size * 8 / rate``. The pacer keeps it in
the form ``d_i = before_i + lead_i``: ``before`` is the sum of the transmission times since the
pacer was last rebased and ``lead = max(lead, ready - before)``; that is the vectorised form
``before + maximum.accumulate(ready - before)``, and the simulator's numbers are those of that form.

**Catch-up credit.** A real sender wakes up late (timer slack, a busy thread): a packet due at
``d`` leaves at ``sent > d``. The next departure is then ``max(d + tx, sent - credit + tx)``: up to
``credit_ms`` of lateness is made up by sending the following packets back to back, and only the
lateness beyond it delays the schedule. Without the credit every late wake-up would lower the
real rate below the pacing rate. It is libwebrtc's choice: its pacer drains its media debt by the
elapsed time however late it runs, and sends in bursts of up to 5 ms (``kDefaultMinPacketLimit``
in ``modules/pacing/pacing_controller.cc``). The simulator's packets leave exactly when due
(``sent == d``), so the credit never binds there: the one rule keeps the simulator's numbers.
Idle time is never credited (a packet that becomes ready after the pacer went idle leaves when it
is ready), as in libwebrtc, whose debt never goes below zero.
"""

from __future__ import annotations

from collections.abc import Sequence

BITS_PER_BYTE = 8.0
CATCH_UP_CREDIT_MS = 5.0  # libwebrtc's burst window, kDefaultMinPacketLimit (pacing_controller.cc)


class Pacer:
    """When each packet may leave; ``rate_kbps`` is the pacing rate (kbit/s = bit/ms)."""

    def __init__(self, credit_ms: float = CATCH_UP_CREDIT_MS) -> None:
        self.credit_ms = credit_ms
        self.free_ms = 0.0  # when the last packet has finished leaving
        self._before = 0.0  # transmission time sent since the last rebase
        self._lead = 0.0

    def rebase(self) -> None:
        """Restart the sums from the time the pacer is free (the simulator, once per interval)."""
        self._lead = self.free_ms
        self._before = 0.0

    def next_ms(self, ready_ms: float) -> float:
        """When a packet ready at ``ready_ms`` would leave, without committing to it."""
        return self._before + max(self._lead, ready_ms - self._before)

    def departure_ms(self, ready_ms: float) -> float:
        """When the next packet, ready at ``ready_ms``, leaves (if sent on time)."""
        d = ready_ms - self._before
        if d > self._lead:
            self._lead = d
        return self._before + self._lead

    def sent(self, size_bytes: int, rate_kbps: float, sent_ms: float) -> None:
        """The packet due at :meth:`departure_ms` left at ``sent_ms`` (late by at most the credit:
        no change to the schedule)."""
        due = self._before + self._lead
        late = sent_ms - self.credit_ms - self._before
        if late > self._lead:
            self._lead = late
            due = sent_ms - self.credit_ms
        tx = size_bytes * BITS_PER_BYTE / rate_kbps
        self._before += tx
        self.free_ms = due + tx

    def pace(self, ready_ms: float, sizes_bytes: Sequence[int], rate_kbps: float) -> list[float]:
        """Departures of one frame's packets, all ready at ``ready_ms``, each sent when due.

        The same arithmetic as :meth:`departure_ms` then :meth:`sent` per packet; a frame's later
        packets cannot wait for readiness (``ready - before`` only shrinks), so only the first
        is compared.
        """
        d = ready_ms - self._before
        if d > self._lead:
            self._lead = d
        lead, before = self._lead, self._before
        out: list[float] = []
        tx = 0.0
        for size in sizes_bytes:
            out.append(before + lead)
            tx = size * BITS_PER_BYTE / rate_kbps
            before += tx
        if out:
            self.free_ms = out[-1] + tx
        self._before = before
        return out

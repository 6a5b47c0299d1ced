"""artic_rl.net: network traces (read, convert, describe, generate) and the trace-driven link emulator."""

from artic_rl.net.formats import (
    load_trace,
    load_trace_dir,
    load_trace_groups,
    load_traces,
    save_trace,
)
from artic_rl.net.link import Delivery, FeedbackPath, Link
from artic_rl.net.loss import BernoulliLoss, GilbertElliottLoss, LossModel
from artic_rl.net.trace import MTU_BYTES, Trace

__all__ = [
    "MTU_BYTES",
    "BernoulliLoss",
    "Delivery",
    "FeedbackPath",
    "GilbertElliottLoss",
    "Link",
    "LossModel",
    "Trace",
    "load_trace",
    "load_trace_dir",
    "load_trace_groups",
    "load_traces",
    "save_trace",
]

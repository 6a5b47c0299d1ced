"""``artic-rl devibench``: the DeViBench harness on degraded video (argument parsing only)."""

from __future__ import annotations

import argparse


def _cmd_devibench(args: argparse.Namespace) -> int:
    from artic_rl.errors import ArticError

    raise ArticError("the DeViBench harness is not built yet")


def register_devibench(subparsers: argparse._SubParsersAction) -> None:
    """Add ``devibench`` to the dispatcher."""
    p = subparsers.add_parser(
        "devibench",
        help="run the DeViBench harness on degraded video",
        description="Ask an MLLM judge DeViBench questions about degraded video; grade; tabulate.",
    )
    p.set_defaults(func=_cmd_devibench)

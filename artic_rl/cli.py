"""The ``artic-rl`` command line: one sub-command group per part of the system.

Each part owns its sub-commands in its own module (``artic_rl/<part>/cli.py``) exposing
``register(subparsers)``; this file only dispatches, and imports a part lazily so that
``artic-rl traces --help`` does not import torch or PyAV.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from artic_rl.errors import ArticError

# sub-command -> (module that registers it, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "traces": ("artic_rl.net.cli", "read, convert, describe, generate and download network traces"),
    "link": ("artic_rl.net.cli", "replay a packet schedule through the trace-driven link emulator"),
    "profile": ("artic_rl.video.cli", "profile a real encoder over a bitrate / fps / ROI grid"),
    "clips": ("artic_rl.video.cli", "generate the synthetic chat-scene clips and their questions"),
    "accuracy": ("artic_rl.mllm.cli", "MLLM accuracy models: fit, inspect curves"),
    "devibench": ("artic_rl.mllm.cli", "run the DeViBench harness on degraded video"),
    "sweep-table": (
        "artic_rl.evaluation.sweep",
        "several evaluate.py runs side by side: a markdown table and a plot",
    ),
    "fidelity": (
        "artic_rl.runtime.fidelity_cli",
        "stream.py compare_sim=true over traces x agents x receivers: a table of gaps and a plot",
    ),
    "select": (
        "artic_rl.training.selection",
        "pick a training run's best checkpoint against a reference on validation traces",
    ),
}


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The full parser for the requested command's part; the others appear as one-line stubs."""
    parser = argparse.ArgumentParser(
        prog="artic-rl",
        description="artic_rl: RL for AI video chat (traces, link, codec, MLLM accuracy).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = next((a for a in argv if not a.startswith("-")), None)
    module = COMMANDS[wanted][0] if wanted in COMMANDS else None
    if module is not None:
        importlib.import_module(module).register(sub)
    for name, (owner, help_text) in COMMANDS.items():
        if owner != module:
            sub.add_parser(name, help=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0 if not args_list else 2
    try:
        return int(args.func(args) or 0)
    except ArticError as err:
        print(f"artic-rl {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

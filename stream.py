"""Stream a video through an emulated link with a policy in the loop: ``python stream.py
policy=FILE.onnx video=FILE trace=FILE seconds=N`` (or ``agent=gcc``); ``--help`` lists every key.
The work is :func:`artic_rl.runtime.stream_cli.stream`."""

from pathlib import Path

from artic_rl.entry import Entry, run
from artic_rl.runtime.stream_cli import stream, validate_stream

ENTRY = Entry(
    prog="stream.py",
    conf_dir=Path(__file__).resolve().parent / "conf",
    config_name="stream",
    task=stream,
    validate=validate_stream,
)

if __name__ == "__main__":
    run(ENTRY)

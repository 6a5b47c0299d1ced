"""Export a trained PPO policy to ONNX: ``python export.py policy=DIR out=FILE.onnx`` (``--help``
lists every key). The work is :func:`artic_rl.runtime.export_cli.export`."""

from pathlib import Path

from artic_rl.entry import Entry, run
from artic_rl.runtime.export_cli import export, validate_export

ENTRY = Entry(
    prog="export.py",
    conf_dir=Path(__file__).resolve().parent / "conf",
    config_name="export",
    task=export,
    validate=validate_export,
)

if __name__ == "__main__":
    run(ENTRY)

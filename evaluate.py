"""Evaluate agents, paired: ``python evaluate.py env=lte agents=[gcc,artic,ppo]`` (``--help`` lists
every key). The work is :func:`artic_rl.evaluation.evaluate.evaluate`."""

from pathlib import Path

from artic_rl.entry import Entry, run
from artic_rl.evaluation.evaluate import EvalSettings, evaluate, validate_evaluate

ENTRY = Entry(
    prog="evaluate.py",
    conf_dir=Path(__file__).resolve().parent / "conf",
    config_name="evaluate",
    task=evaluate,
    validate=validate_evaluate,
    schemas={"eval": EvalSettings},
)

if __name__ == "__main__":
    run(ENTRY)

"""Model selection: every checkpoint of a training run, paired against a reference agent on the
validation traces (``artic-rl select RUN_DIR``).

Training's own evaluation watches a few validation episodes of the last policy; a run's best
policy may be an earlier checkpoint, and a few episodes cannot tell checkpoints apart. This runs
each checkpoint (and the final ``model.zip``) with :func:`.evaluate.run_evaluation` on the
same paired validation episodes as the reference, per preset, scores it against the reference
over the presets (``dominance``, the default: the smaller of its accuracy gain and its latency
gain, in the pareto objective's units of 100 points = 1 s, positive only when it is both more
accurate and faster; ``reward``: its mean reward difference), and can copy the winner out as a policy folder
(``model.zip`` + ``obs_norm.npz``) that ``evaluate.py`` and ``export.py`` read. The test traces are
never touched, so the winner can then be evaluated once on them.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

from artic_rl.agents.ppo import (
    CONFIG_FILE,
    MODEL_FILE,
    OBS_NORM_FILE,
    ObsNorm,
    norm_path_for,
    read_run_config,
    run_folder_of,
)
from artic_rl.agents.registry import AgentSpec, agent_spec
from artic_rl.agents.residual import ResidualSpec
from artic_rl.errors import ArticError
from artic_rl.evaluation.evaluate import EVAL_SEED_BASE, run_evaluation
from artic_rl.evaluation.paired import summarise

CRITERIA = {"dominance": "dominance", "reward": "delta_reward"}  # --criterion -> the row's key
_CKPT = re.compile(r"ckpt_(\d+)_steps\.zip")


def run_checkpoints(run_dir: Path, from_step: int = 0) -> list[tuple[str, Path]]:
    """(label, path) of the run's checkpoints from step ``from_step`` on in step order, then its
    final ``model.zip``."""
    found = []
    for p in (run_dir / "checkpoints").glob("ckpt_*_steps.zip"):
        m = _CKPT.fullmatch(p.name)
        if m and int(m.group(1)) >= from_step:
            found.append((int(m.group(1)), p))
    out = [(f"ckpt_{n}", p) for n, p in sorted(found)]
    if (run_dir / MODEL_FILE).is_file():
        out.append(("final", run_dir / MODEL_FILE))
    if not out:
        raise ArticError(f"{run_dir}: no checkpoints/ckpt_<n>_steps.zip and no model.zip")

    for _, path in out:  # every checkpoint needs its normalisation statistics: check them up front
        try:
            norm_path_for(path)
        except FileNotFoundError as err:
            raise ArticError(str(err)) from None
    return out


def run_presets(run_dir: Path) -> list[str]:
    """The presets a run trained on (``env.kwargs.preset`` of its config.yaml, split on ``+``)."""
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise ArticError(f"{path}: missing; give --presets")
    preset = read_run_config(run_dir).get("env", {}).get("kwargs", {}).get("preset")
    if not preset:
        raise ArticError(f"{path}: no env.kwargs.preset; give --presets")
    return str(preset).split("+")


def _env_kwargs(preset: str, split: str) -> tuple[str, dict[str, Any]]:
    """The environment id and kwargs ``evaluate.py env=<preset>`` would use, on ``split``
    (composed by the running hydra, see :func:`select_checkpoint`)."""
    from hydra import compose
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    known = sorted(GlobalHydra.instance().config_loader().get_group_options("env"))
    if preset not in known or preset == "base":
        presets = ", ".join(k for k in known if k != "base")
        raise ArticError(f"preset {preset!r}: no conf/env/{preset}.yaml (known: {presets})")
    cfg = compose(config_name="evaluate", overrides=[f"env={preset}"])
    env = OmegaConf.to_container(cfg.env, resolve=True)
    assert isinstance(env, dict)
    return str(env["id"]), {**dict(env["kwargs"]), "split": split}


def select_checkpoint(
    run_dir: Path,
    presets: list[str],
    conf_dir: Path,
    episodes: int = 30,
    reference: str = "artic",
    split: str = "val",
    seed: int = EVAL_SEED_BASE,
    n_jobs: int = 2,
    progress_bar: bool = True,
    criterion: str = "dominance",
    from_step: int = 0,
) -> dict[str, Any]:
    """Evaluate every checkpoint (from step ``from_step`` on, and the final model) against
    ``reference`` per preset; the best by ``criterion``.

    The presets' environments and the agents come from the config tree ``conf_dir``."""
    from hydra import initialize_config_dir

    from artic_rl.training.config import register_configs

    ckpts = run_checkpoints(run_dir, from_step)
    if not (conf_dir / "evaluate.yaml").is_file():
        raise ArticError(f"{conf_dir}: not a config folder (no evaluate.yaml); give --conf")
    register_configs()
    with initialize_config_dir(config_dir=str(conf_dir.resolve()), version_base="1.3"):
        ppo = agent_spec("ppo")
        try:
            ref_spec = agent_spec(reference)
        except ValueError as err:
            raise ArticError(f"--reference: {err}") from None
        envs = [_env_kwargs(p, split) for p in presets]  # unknown presets fail before any work
    specs = [ref_spec] + [
        AgentSpec(label, {**ppo.config, "policy": str(path)}) for label, path in ckpts
    ]
    seeds = [seed + i for i in range(episodes)]
    rows: dict[str, dict[str, Any]] = {label: {"path": str(path)} for label, path in ckpts}
    ref_rows: dict[str, float] = {}
    ref_metrics: dict[str, dict[str, float]] = {}
    for preset, (env_id, kwargs) in zip(presets, envs, strict=True):
        results = run_evaluation(specs, env_id, kwargs, seeds, n_jobs, progress_bar)
        summary = summarise(results, reference, 1000, seed)
        ref = summary[reference]
        ref_rows[preset] = ref["reward"]
        ref_metrics[preset] = {k: ref[k] for k in ("accuracy_pct", "latency_mean_ms")}
        for label, _ in ckpts:
            s = summary[label]
            d = s[f"vs_{reference}"]["reward"]
            gain_acc = (s["accuracy_pct"] - ref["accuracy_pct"]) / 100.0
            gain_lat = (ref["latency_mean_ms"] - s["latency_mean_ms"]) / 1000.0
            rows[label][preset] = {
                "dominance": min(gain_acc, gain_lat),
                "reward": s["reward"],
                "accuracy_pct": s["accuracy_pct"],
                "latency_mean_ms": s["latency_mean_ms"],
                "delta_reward": d["diff"],
                "ci_low": d["ci_low"],
                "ci_high": d["ci_high"],
            }
    if criterion not in CRITERIA:
        raise ArticError(f"--criterion {criterion}: one of {', '.join(CRITERIA)}")
    key = CRITERIA[criterion]
    for row in rows.values():
        row["score"] = sum(row[p][key] for p in presets) / len(presets)
    best = max(rows, key=lambda k: rows[k]["score"])
    return {
        "run_dir": str(run_dir),
        "split": split,
        "episodes": episodes,
        "seed": seed,
        "reference": reference,
        "criterion": criterion,
        "from_step": from_step,
        "reference_reward": ref_rows,
        "reference_metrics": ref_metrics,
        "presets": presets,
        "best": best,
        "checkpoints": rows,
    }


def selection_table(sel: dict[str, Any]) -> str:
    """Markdown: one row per checkpoint; per preset its accuracy and latency, the reward and
    Δreward [95% CI]; the score (``sel["criterion"]``)."""
    presets = sel["presets"]
    ref = sel["reference"]
    head = [
        "checkpoint",
        *(f"{p}: accuracy %, latency ms, reward, Δ vs {ref}" for p in presets),
        f"score ({sel.get('criterion', 'reward')})",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, row in sel["checkpoints"].items():
        cells = [f"**{label}**" if label == sel["best"] else label]
        for p in presets:
            r = row[p]
            cells.append(
                f"{r['accuracy_pct']:.1f}, {r['latency_mean_ms']:.0f}, {r['reward']:.2f}, "
                f"{r['delta_reward']:+.2f} [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]"
            )
        cells.append(f"{row['score']:+.4f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def export_policy(sel: dict[str, Any], out: Path) -> None:
    """Write the selected checkpoint as a policy folder: model.zip, obs_norm.npz, selection.json."""
    src = Path(sel["checkpoints"][sel["best"]]["path"])
    norm = ObsNorm.load(src)
    out.mkdir(parents=True, exist_ok=True)
    # both files are written aside and renamed, so an interrupted export never leaves a model
    # next to another model's normalisation
    tmp_model, tmp_norm = out / "model.tmp.zip", out / "obs_norm.tmp.npz"
    shutil.copyfile(src, tmp_model)
    norm.save(tmp_norm)
    tmp_norm.replace(out / OBS_NORM_FILE)
    tmp_model.replace(out / MODEL_FILE)
    residual = ResidualSpec.load(run_folder_of(src))
    if residual is not None:
        residual.save(out)
    (out / "selection.json").write_text(json.dumps(sel, indent=2) + "\n")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "select",
        help="pick a training run's best checkpoint against a reference agent on validation traces",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", type=Path, help="a train.py run directory (checkpoints/, model.zip)")
    p.add_argument(
        "--presets", help="comma-separated presets (default: the run's own, lte+3g -> lte,3g)"
    )
    p.add_argument("--episodes", type=int, default=30, help="paired episodes per preset (30)")
    p.add_argument("--reference", default="artic", help="agent of conf/agent to beat (artic)")
    p.add_argument("--split", default="val", help="trace split (val; never test)")
    p.add_argument("--seed", type=int, default=1_000_000, help="first episode seed (1000000)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (2)")
    p.add_argument(
        "--criterion",
        choices=sorted(CRITERIA),
        default="dominance",
        help="dominance: min(accuracy gain, latency gain), 100 points = 1 s (default); "
        "reward: mean reward difference",
    )
    p.add_argument(
        "--from-step",
        type=int,
        default=0,
        help="only the checkpoints from this training step on, and the final model (0: all)",
    )
    p.add_argument("--out", type=Path, help="also write the winner here as a policy folder")
    p.add_argument(
        "--conf",
        type=Path,
        default=Path("conf"),
        help="the config folder (conf, from the repository root)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_select)


def _cmd_select(args: argparse.Namespace) -> int:
    if args.split == "test":
        raise ArticError("--split test: model selection on the test traces would leak them")
    if args.episodes < 2:
        raise ArticError(f"--episodes {args.episodes}: need at least 2 for a confidence interval")
    if args.from_step < 0:
        raise ArticError(f"--from-step {args.from_step}: must be >= 0")
    presets = args.presets.split(",") if args.presets else run_presets(args.run_dir)
    sel = select_checkpoint(
        args.run_dir,
        presets,
        args.conf,
        args.episodes,
        args.reference,
        args.split,
        args.seed,
        args.jobs,
        not args.no_progress,
        args.criterion,
        args.from_step,
    )
    (args.run_dir / "selection.json").write_text(json.dumps(sel, indent=2) + "\n")
    table = selection_table(sel)
    (args.run_dir / "selection.md").write_text(table)
    print(table)
    best = sel["checkpoints"][sel["best"]]
    print(f"best: {sel['best']} ({args.criterion} vs {args.reference} {best['score']:+.4f})")
    if args.out is not None:
        export_policy(sel, args.out)
        print(f"wrote {args.out}")
    return 0 if not math.isnan(best["score"]) else 1

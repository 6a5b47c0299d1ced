"""``artic-rl fidelity``: the simulator against the real-time streamer over traces x agents x receivers.

Each combination is one ``stream.py ... compare_sim=true`` session (the same policy, trace, clip and
question times in both worlds), run one after another in real time. The table of per-run gaps
(accuracy, mean and p95 network latency of the questions, frame delay, bitrate, keyframes,
substituted frames) is written as ``fidelity.md``, ``fidelity.csv`` and ``fidelity.json`` in
``--out``, with ``fidelity.png`` (simulated against streamed mean network latency) and each
session's ``report.json`` under ``runs/``::

    artic-rl fidelity --traces traces/lte/test/lte-01.up ../shared/data/traces/mahimahi/ATT-LTE-driving.up \\
        --agents gcc artic policies/lte/policy.onnx --video outputs/clips/synth-0007.mp4 --seconds 60 \\
        --out outputs/fidelity

``--seeds 1 2 3`` streams the sweep once per seed (the link's random loss, the questions' phases,
the simulator's episode) under ``--out/seed-N`` and pools the sessions cell by cell into
``--out``'s table, with the stream's own spread from session to session (``--pool`` does the same
for sweeps run separately).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from artic_rl.errors import ArticError, InputError
from artic_rl.runtime.fidelity import (
    GOAL_ACCURACY_POINTS,
    GOAL_LATENCY_P95_REL,
    GOAL_LATENCY_REL,
)

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
RECEIVERS = ("own", "artic", "webrtc")
#: (column, compare_sim row) pairs of the table, streamed then simulated
COLUMNS = (
    ("accuracy_pct", "accuracy_pct"),
    ("latency_mean_ms", "network_latency_mean_ms"),
    ("latency_p95_ms", "network_latency_p95_ms"),
    ("frame_delay_ms", "frame_delay_mean_ms"),
    ("bitrate_kbps", "bitrate_kbps"),
    ("keyframes", "keyframes"),
    ("substituted", "substituted_frames"),
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fidelity",
        help="stream.py compare_sim=true over traces x agents x receivers: a table of gaps and a plot",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    p.add_argument("--traces", nargs="+", default=[], help="uplink trace files")
    p.add_argument(
        "--agents", nargs="+", default=[], help="conf/agent names (gcc, artic) or FILE.onnx"
    )
    p.add_argument("--receivers", nargs="+", default=["own"], help="own | artic | webrtc")
    p.add_argument("--video", default=None, help="clip (its questions JSON beside it)")
    p.add_argument("--seconds", type=float, default=60.0, help="stream length per run")
    p.add_argument("--env", default="lte", help="conf/env preset for the shared settings")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--override",
        nargs="*",
        default=[],
        help="extra stream.py overrides (key=value); with --resimulate, simulator-only "
        "env.kwargs.KEY=VALUE for the simulator beside the saved sessions",
    )
    p.add_argument(
        "--clip-curves",
        default=None,
        help="the clip's own accuracy curves (artic-rl accuracy clip-curves) for the simulator",
    )
    p.add_argument(
        "--resimulate",
        action="store_true",
        help="stream nothing: run the simulator again beside every session already under --out "
        "(after a simulator change) and rewrite the table",
    )
    p.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=[],
        metavar="SEED",
        help="one sweep per seed (the link's random loss, the question times' phases, the "
        "simulator's episode) under --out/seed-SEED, then their sessions pooled cell by cell "
        "into --out's table; resumes per seed",
    )
    p.add_argument(
        "--pool",
        nargs="+",
        default=[],
        metavar="SWEEP",
        help="stream nothing: pool the sessions of several sweeps' folders cell by cell (the same "
        "traces, agents and receivers) into one table under --out, with the stream's own "
        "spread from session to session",
    )
    p.set_defaults(func=_main)


def run_overrides(trace: str, agent: str, receiver: str, args: argparse.Namespace) -> list[str]:
    """The ``stream.py`` overrides of one combination."""
    who = f"policy={agent}" if agent.endswith(".onnx") else f"agent={agent}"
    return [
        who,
        f"trace={trace}",
        f"video={args.video}",
        f"seconds={args.seconds}",
        f"env={args.env}",
        f"receiver={'null' if receiver == 'own' else receiver}",
        "compare_sim=true",
        *([f"clip_curves={args.clip_curves}"] if args.clip_curves else []),
        *args.override,
    ]


def check_args(args: argparse.Namespace) -> None:
    """Everything checkable before any streaming; InputError / ArticError name what is wrong."""
    if args.clip_curves:
        from artic_rl.mllm.clipcurves import load_clip_curves

        load_clip_curves(args.clip_curves)  # InputError names the file
    if args.pool and args.resimulate:
        raise ArticError("--pool and --resimulate: one at a time (simulate each sweep again first)")
    if args.pool and args.seeds:
        raise ArticError("--pool and --seeds: one at a time (--seeds pools its own sweeps)")
    if len(set(args.seeds)) != len(args.seeds):
        raise ArticError(f"--seeds: each seed once (got {' '.join(map(str, args.seeds))})")
    if args.seeds and any(o.split("=", 1)[0].lstrip("+~") == "seed" for o in args.override):
        raise ArticError("--seeds and --override seed=...: one at a time")
    for sweep in args.pool:
        if not any((Path(sweep) / "runs").glob("*/report.json")):
            raise InputError("not a fidelity sweep (no runs/*/report.json)", sweep)
    if args.pool and args.override:
        raise ArticError("--pool and --override: --pool only reads what was simulated")
    if args.resimulate:
        simulator_overrides(args.override)
    if args.resimulate or args.pool:
        return
    for name in ("traces", "agents", "video"):
        if not getattr(args, name):
            raise ArticError(f"--{name} is required (unless --resimulate)")
    for t in args.traces:
        if not Path(t).is_file():
            raise InputError("no such trace file", t)
    if not Path(args.video).is_file():
        raise InputError("no such video file", args.video)
    for a in args.agents:
        if a.endswith(".onnx"):
            if not Path(a).is_file():
                raise InputError("no such policy file", a)
        elif not (CONF_DIR / "agent" / f"{a}.yaml").is_file():
            raise ArticError(f"--agents: unknown agent {a!r} (no conf/agent/{a}.yaml)")
    for r in args.receivers:
        if r not in RECEIVERS:
            raise ArticError(f"--receivers: unknown receiver {r!r}: {', '.join(RECEIVERS)}")
    if not (args.seconds > 0):
        raise ArticError("--seconds: must be > 0")
    if not (CONF_DIR / "env" / f"{args.env}.yaml").is_file():
        raise ArticError(f"--env: unknown preset {args.env!r} (no conf/env/{args.env}.yaml)")


def simulator_overrides(overrides: list[str]) -> list[str]:
    """``--override`` with ``--resimulate``: ``env.kwargs.KEY=VALUE`` for a simulator-only key (a
    key the streamer also reads would describe a stream that never ran); ArticError otherwise."""
    from artic_rl.runtime.stream_cli import SIM_KEYS

    for o in overrides:
        key = o.split("=", 1)[0]
        if "=" not in o or not key.startswith("env.kwargs.") or key.count(".") != 2:
            raise ArticError(
                f"--override {o!r} with --resimulate: only env.kwargs.KEY=VALUE (the simulator's)"
            )
        if key.removeprefix("env.kwargs.") in SIM_KEYS:
            raise ArticError(
                f"--override {o!r} with --resimulate: the streamer read this key too; "
                "stream the sweep again to change it"
            )
    return overrides


def run_one(overrides: list[str], out: Path) -> dict[str, Any]:
    """One compare_sim session; returns its report."""
    from hydra import compose, initialize_config_dir

    from artic_rl.runtime.stream_cli import stream, validate_stream

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="stream", overrides=overrides)
    validate_stream(cfg)
    return stream(cfg, out_dir=out)


def table_row(trace: str, agent: str, receiver: str, report: dict[str, Any]) -> dict[str, Any]:
    """One run's row: streamed, simulated and the gaps, with the goals."""
    fid = report["fidelity"]
    row: dict[str, Any] = {"trace": Path(trace).name, "agent": Path(agent).name}
    row["receiver"] = report["receiver"]
    for col, key in COLUMNS:
        values = fid["rows"][key]
        row[f"{col}_stream"], row[f"{col}_sim"] = values["stream"], values["simulator"]
    row["accuracy_gap_points"] = fid["accuracy_gap_points"]
    row["latency_gap_pct"] = 100.0 * fid["latency_gap_rel"]
    row["latency_p95_gap_pct"] = 100.0 * fid["latency_p95_gap_rel"]
    row["goals_met"] = bool(
        fid["accuracy_goal_met"] and fid["latency_goal_met"] and fid["latency_p95_goal_met"]
    )
    row["realtime_factor"] = report["cpu"]["realtime_factor"]
    replayed = fid.get("replayed")
    if replayed:  # the simulator replaying the stream's decisions (open loop)
        for key in ("accuracy_pct", "latency_mean_ms", "latency_p95_ms"):
            row[f"{key}_replayed"] = replayed[key]
        row["accuracy_gap_points_replayed"] = replayed["accuracy_gap_points"]
        row["latency_gap_pct_replayed"] = 100.0 * replayed["latency_gap_rel"]
        row["latency_p95_gap_pct_replayed"] = 100.0 * replayed["latency_p95_gap_rel"]
        row["goals_met_replayed"] = replayed["goals_met"]
    return row


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "**no**"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.0f}" if abs(v) >= 10 else f"{v:.1f}"
    return str(v)


def _table(rows: list[dict[str, Any]], columns: list[str], other: str, suffix: str) -> list[str]:
    """One markdown table: each measure as streamed / ``other``, then the gaps and the goals
    (the row keys ``<measure>_<other>`` and ``<gap>`` + ``suffix``)."""
    head = ["trace", "agent", "receiver", *columns, "acc gap (pts)", "mean gap", "p95 gap", "goals"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["trace"], r["agent"], r["receiver"]]
        cells += [f"{_fmt(r[c + '_stream'])} / {_fmt(r[f'{c}_{other}'])}" for c in columns]
        cells += [
            _fmt(r["accuracy_gap_points" + suffix]),
            f"{_fmt(r['latency_gap_pct' + suffix])}%",
            f"{_fmt(r['latency_p95_gap_pct' + suffix])}%",
            _fmt(r["goals_met" + suffix]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(rows: list[dict[str, Any]]) -> str:
    """The table: each measure as streamed / simulated, then the gaps and the goals; and, where
    the rows have it, the same against the simulator replaying each session's decisions."""
    lines = _table(rows, [c for c, _ in COLUMNS], "sim", "")
    met = sum(r["goals_met"] for r in rows)
    lines.append("")
    lines.append(
        f"Cells: streamed / simulated. Goals: accuracy within ±{GOAL_ACCURACY_POINTS:.0f} points, "
        f"mean network latency within ±{100 * GOAL_LATENCY_REL:.0f}%, p95 within "
        f"±{100 * GOAL_LATENCY_P95_REL:.0f}%: met on {met} of {len(rows)} runs."
    )
    replayed = [r for r in rows if "goals_met_replayed" in r]
    if replayed:
        lines += ["", "The simulator replaying each session's decisions (open loop):", ""]
        columns = ["accuracy_pct", "latency_mean_ms", "latency_p95_ms"]
        lines += _table(replayed, columns, "replayed", "_replayed")
        met = sum(r["goals_met_replayed"] for r in replayed)
        lines += ["", f"Cells: streamed / replayed. Goals met on {met} of {len(replayed)} runs."]
    return "\n".join(lines) + "\n"


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Simulated against streamed, one marker per agent: mean network latency with the ±25% band
    (left) and accuracy with the ±10-point band (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (lat, acc) = plt.subplots(1, 2, figsize=(10, 4.6))
    agents = sorted({r["agent"] for r in rows})
    for agent in agents:
        pts = [r for r in rows if r["agent"] == agent]
        lat.scatter([r["latency_mean_ms_sim"] for r in pts],
                    [r["latency_mean_ms_stream"] for r in pts], label=agent)  # fmt: skip
        acc.scatter([r["accuracy_pct_sim"] for r in pts],
                    [r["accuracy_pct_stream"] for r in pts], label=agent)  # fmt: skip
    values = [v for r in rows for v in (r["latency_mean_ms_sim"], r["latency_mean_ms_stream"])]
    top = max([v for v in values if not math.isnan(v)] or [1.0]) * 1.15
    lat.plot([0, top], [0, top], "k-", lw=0.8)
    lat.fill_between(
        [0, top],
        [0, top * (1 - GOAL_LATENCY_REL)],
        [0, top * (1 + GOAL_LATENCY_REL)],
        color="0.5",
        alpha=0.15,
    )
    lat.set_xlim(0, top)
    lat.set_ylim(0, top)
    lat.set_xlabel("simulated mean network latency (ms)")
    lat.set_ylabel("streamed mean network latency (ms)")
    g = GOAL_ACCURACY_POINTS
    acc.plot([0, 100], [0, 100], "k-", lw=0.8)
    acc.fill_between([0, 100], [-g, 100 - g], [g, 100 + g], color="0.5", alpha=0.15)
    acc.set_xlim(-2, 102)
    acc.set_ylim(-2, 102)
    acc.set_xlabel("simulated accuracy (%)")
    acc.set_ylabel("streamed (judged) accuracy (%)")
    lat.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(rows: list[dict[str, Any]], out: Path, text: str | None = None) -> None:
    """fidelity.md (``text``, default :func:`markdown`), .json, .csv and .png under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "fidelity.md").write_text(markdown(rows) if text is None else text)
    (out / "fidelity.json").write_text(json.dumps(rows, indent=1) + "\n")
    if rows:
        with (out / "fidelity.csv").open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    plot(rows, out / "fidelity.png")


def resimulate(run: Path, clip_curves: str | None, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The simulator run again beside a saved session (``run/report.json``), with the session's
    own configuration (``overrides``: simulator-only ``env.kwargs`` keys changed,
    :func:`simulator_overrides`) and today's simulator; the report is rewritten in place
    (atomically)."""
    from omegaconf import OmegaConf

    from artic_rl.runtime.stream_cli import (
        compare_with_simulator,
        make_agent_from,
        stream_settings,
        write_report,
    )

    path = run / "report.json"
    try:
        report = json.loads(path.read_text())
        cfg = OmegaConf.create(report["config"])
    except (OSError, ValueError, KeyError) as err:
        raise InputError(f"not a stream report: {err}", path) from err
    if clip_curves:
        cfg.clip_curves = clip_curves
    if overrides:
        cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(list(overrides)))
    report["config"] = OmegaConf.to_container(cfg, resolve=True)
    settings = stream_settings(cfg)
    agent = make_agent_from(cfg.get("policy"), cfg.get("agent"), settings.interval_ms)
    compare_with_simulator(cfg, agent, settings, report)
    write_report(report, run)
    return report


def run_names(run: Path, report: dict[str, Any]) -> tuple[str, str, str]:
    """(trace, agent, receiver) of a sweep's run folder ``NN-<trace>-<agent>-<receiver>``."""
    trace = str(report["config"]["trace"])
    rest = run.name.split("-", 1)[1].removeprefix(Path(trace).stem + "-")
    agent, receiver = rest.rsplit("-", 1)
    policy = report["config"].get("policy")
    return trace, str(policy) if policy else agent, receiver  # as the sweep named it


def pooled_rows(sweeps: list[Path]) -> list[dict[str, Any]]:
    """One row per cell that every sweep streamed (matched by run folder name), its sessions
    pooled (:func:`artic_rl.runtime.fidelity.pool_sessions`)."""
    from artic_rl.runtime.fidelity import pool_sessions

    names = [{p.parent.name for p in (s / "runs").glob("*/report.json")} for s in sweeps]
    rows = []
    for name in sorted(set.intersection(*names)):
        reports = []
        for sweep in sweeps:
            path = sweep / "runs" / name / "report.json"
            try:
                reports.append(json.loads(path.read_text()))
            except ValueError as err:
                raise InputError(f"not a stream report: {err}", path) from err
            if "fidelity" not in reports[-1]:
                raise InputError("a session without its simulator run (compare_sim)", path)
            try:
                pool_sessions(reports[-1:])  # each session readable on its own, or named
            except (KeyError, TypeError) as err:
                raise InputError(
                    f"no per-question figures ({err}): run --resimulate on its sweep first", path
                ) from err
        pooled = pool_sessions(reports)
        trace, agent, receiver = run_names(sweeps[0] / "runs" / name, reports[0])
        row: dict[str, Any] = {"trace": Path(trace).name, "agent": Path(agent).name}
        row["receiver"] = reports[0]["receiver"]
        row["sessions"], row["questions"] = pooled["sessions"], pooled["questions"]
        for key in ("accuracy_pct", "latency_mean_ms", "latency_p95_ms"):
            row[f"{key}_stream"] = pooled["stream"][key]
            row[f"{key}_sim"] = pooled["simulator"][key]
        row.update(_gap_columns(pooled, ""))
        if "replayed" in pooled:
            for key in ("accuracy_pct", "latency_mean_ms", "latency_p95_ms"):
                row[f"{key}_replayed"] = pooled["replayed"][key]
            row.update(_gap_columns(pooled["replayed"], "_replayed"))
        spread = pooled["stream_spread"]
        row["stream_spread_accuracy_points"] = spread["accuracy_points"]
        row["stream_spread_latency_pct"] = 100.0 * spread["latency_rel"]
        row["stream_spread_latency_p95_pct"] = 100.0 * spread["latency_p95_rel"]
        rows.append(row)
    return rows


def _gap_columns(gaps: dict[str, Any], suffix: str) -> dict[str, Any]:
    """The goals' gaps of a comparison (:func:`artic_rl.runtime.fidelity.goal_gaps`) as row keys."""
    return {
        "accuracy_gap_points" + suffix: gaps["accuracy_gap_points"],
        "latency_gap_pct" + suffix: 100.0 * gaps["latency_gap_rel"],
        "latency_p95_gap_pct" + suffix: 100.0 * gaps["latency_p95_gap_rel"],
        "goals_met" + suffix: bool(
            gaps["accuracy_goal_met"] and gaps["latency_goal_met"] and gaps["latency_p95_goal_met"]
        ),
    }


def pooled_markdown(rows: list[dict[str, Any]], sweeps: list[Path]) -> str:
    """The pooled table (closed loop, then open loop) and the stream's session-to-session spread."""
    columns = ["accuracy_pct", "latency_mean_ms", "latency_p95_ms"]
    n = rows[0]["sessions"] if rows else 0
    lines = [f"{n} sessions per cell pooled ({', '.join(str(s) for s in sweeps)}).", ""]
    lines += _table(rows, columns, "sim", "")
    met = sum(r["goals_met"] for r in rows)
    lines += ["", f"Cells: streamed / simulated, questions pooled. Goals met on {met} of "
              f"{len(rows)} cells.", ""]  # fmt: skip
    replayed = [r for r in rows if "goals_met_replayed" in r]
    if replayed:
        lines += ["The simulator replaying each session's decisions (open loop):", ""]
        lines += _table(replayed, columns, "replayed", "_replayed")
        met = sum(r["goals_met_replayed"] for r in replayed)
        lines += ["", f"Goals met on {met} of {len(replayed)} cells.", ""]
    lines += [
        "The stream against itself: the largest difference between two sessions of a cell.",
        "",
        "| trace | agent | receiver | accuracy (pts) | mean latency | p95 latency |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['trace']} | {r['agent']} | {r['receiver']} | "
            f"{_fmt(r['stream_spread_accuracy_points'])} | "
            f"{_fmt(r['stream_spread_latency_pct'])}% | {_fmt(r['stream_spread_latency_p95_pct'])}% |"
        )
    return "\n".join(lines) + "\n"


def _main(args: argparse.Namespace) -> int:
    check_args(args)
    out = Path(args.out)
    if args.pool:
        return _pool([Path(s) for s in args.pool], out)
    if args.seeds:
        sweeps = [out / f"seed-{seed}" for seed in args.seeds]
        for k, (seed, sweep) in enumerate(zip(args.seeds, sweeps, strict=True)):
            print(f"== seed {seed} ({k + 1}/{len(sweeps)}): {sweep}", flush=True)
            rc = _resimulate(sweep, args) if args.resimulate else _sweep(args, sweep, seed)
            if rc:
                return rc
        return _pool(sweeps, out)
    return _resimulate(out, args) if args.resimulate else _sweep(args, out)


def _pool(sweeps: list[Path], out: Path) -> int:
    """Pool the sessions of ``sweeps`` cell by cell into one table under ``out``."""
    rows = pooled_rows(sweeps)
    if not rows:
        raise ArticError("--pool: the sweeps share no cell (run folder names differ)")
    text = pooled_markdown(rows, sweeps)
    write_outputs(rows, out, text)
    print(text)
    return 0


def _resimulate(out: Path, args: argparse.Namespace) -> int:
    """Run the simulator again beside every session under ``out``; rewrite its table."""
    runs = sorted(p.parent for p in (out / "runs").glob("*/report.json"))
    if not runs:
        raise InputError("no sessions to simulate again (no runs/*/report.json)", out)
    rows: list[dict[str, Any]] = []
    for k, run in enumerate(runs):
        print(f"[{k + 1}/{len(runs)}] {run.name} (simulator only)", flush=True)
        report = resimulate(run, args.clip_curves, args.override)
        rows.append(table_row(*run_names(run, report), report))
    write_outputs(rows, out)
    print(markdown(rows))
    return 0


def _sweep(args: argparse.Namespace, out: Path, seed: int | None = None) -> int:
    """Stream every combination into ``out/runs`` (``seed``: the sessions' ``seed=``), keeping
    the sessions already there; 130 if a session was cut short."""
    rows: list[dict[str, Any]] = []
    combos = [(t, a, r) for t in args.traces for a in args.agents for r in args.receivers]
    for k, (trace, agent, receiver) in enumerate(combos):
        name = f"{k:02d}-{Path(trace).stem}-{Path(agent).stem}-{receiver}"
        run = out / "runs" / name
        done = run / "report.json"
        if done.is_file():  # resume: a session already streamed is kept
            print(f"[{k + 1}/{len(combos)}] {name}: kept ({done})", flush=True)
            report = json.loads(done.read_text())
        else:
            print(f"[{k + 1}/{len(combos)}] {name}", flush=True)
            overrides = run_overrides(trace, agent, receiver, args)
            report = run_one(overrides + ([f"seed={seed}"] if seed is not None else []), run)
            if report.get("interrupted"):  # a cut-short session is not a measurement: set aside
                done.replace(run / "report.interrupted.json")
                write_outputs(rows, out)
                print(f"interrupted: {name} set aside, streamed again on resume", file=sys.stderr)
                return 130
        rows.append(table_row(trace, agent, receiver, report))
        write_outputs(rows, out)  # after every run: a cut-off sweep keeps what it measured
    print(markdown(rows))
    return 0

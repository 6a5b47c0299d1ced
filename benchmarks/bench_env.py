"""Environment speed: steps per second with random actions, and simulated seconds per wall second.

    python benchmarks/bench_env.py [--preset lte] [--steps 20000] [--repeats 3]
    python benchmarks/bench_env.py --receiver webrtc   # one receiver only (default: both)
    python benchmarks/bench_env.py --instructions      # needs valgrind; a few minutes per line
    python benchmarks/bench_env.py --backend python --backend compiled   # both, side by side
    python benchmarks/bench_env.py --set feedback_interval_ms=0          # any VideoChatEnv keyword

One process, one core (torch is not involved). Goal (issues #5 and #15): at least 5,000 steps/s
with each receiver (``artic`` and ``webrtc``). Each receiver (and backend: ``--backend``, default
``$ARTIC_BACKEND`` or ``python``) has its own environment; the same random actions are replayed
``--repeats`` times per environment, the passes interleaved (artic, webrtc, artic, ...) so that all
see the same load on a shared machine. One JSON line per environment: the median run, with its CPU
time per step (less sensitive than wall time to other processes on a shared machine). Before the
timed passes, ``--warmup`` untimed passes (default 1) over the same actions and episodes pay what
a process pays once: numba's dispatch from its cache, the codec profile's memoised cells, each
trace's tables; a training run pays it once in a million steps. Its speed is in the line too
(``warmup_steps_per_s``).

``--instructions`` counts machine instructions per step instead, which no other process and no
VM's clock changes: the same random steps run twice under valgrind's callgrind (500 and 2,500
steps), and the difference divided by 2,000 removes the start-up cost.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NoReturn

import gymnasium as gym

import artic_rl.envs  # noqa: F401
from artic_rl.backend import BACKEND_ENV, BACKENDS, default_backend
from artic_rl.envs import ENV_ID
from artic_rl.errors import InputError
from artic_rl.receiver.config import RECEIVERS

ROOT = Path(__file__).resolve().parents[1]  # the repository: its shipped traces


def run_once(env: gym.Env, actions: list) -> tuple[float, float]:
    """Wall and CPU seconds for one pass over ``actions`` (episodes reset with seeds 0, 1, ...)."""
    env.reset(seed=0)
    episodes = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            episodes += 1
            env.reset(seed=episodes)
    return time.perf_counter() - wall0, time.process_time() - cpu0


def _fail(message: str) -> NoReturn:
    """Bad input: one line on stderr, exit 2."""
    print(f"bench_env: {message}", file=sys.stderr)
    raise SystemExit(2)


def env_kwargs(pairs: list[str]) -> dict[str, object]:
    """``--set KEY=VALUE`` pairs as keyword arguments (each value read as YAML: 0, 0.5, true)."""
    import yaml

    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            _fail(f"--set {pair!r}: expected KEY=VALUE (an env keyword)")
        out[key] = yaml.safe_load(value)
    return out


def instructions_per_step(
    preset: str,
    receiver: str = "artic",
    profile: str | None = None,
    backend: str = "python",
    short: int = 500,
    long: int = 2_500,
    settings: list[str] | None = None,
) -> float:
    """Callgrind's instruction count of ``long`` minus ``short`` steps, per step."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt install valgrind)")
    counts = []
    # numba's cache is keyed on the CPU, and valgrind's emulated one differs from the host's: the
    # compiled backend would compile every kernel under valgrind (many minutes). Generic code,
    # cached by a short run outside valgrind first, serves both.
    # OpenBLAS's worker threads spin for a while after each call (an episode's set-up makes a
    # few hundred small ones): their instructions depend on timing, not on the simulator, and
    # moved a count by +-20,000 per step from run to run. One BLAS thread removes them.
    env = {
        **os.environ,
        BACKEND_ENV: backend,
        "NUMBA_CPU_NAME": "generic",
        "OPENBLAS_NUM_THREADS": "1",
    }
    child = [sys.executable, __file__, "--preset", preset, "--receiver", receiver]
    child += ["--profile", profile] if profile else []
    for pair in settings or []:
        child += ["--set", pair]
    subprocess.run([*child, "--child-steps", "20"], capture_output=True, check=True, env=env)
    with tempfile.TemporaryDirectory() as tmp:
        for n in (short, long):
            cmd = [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={Path(tmp) / f'cg.{n}'}",
                *child,
                "--child-steps",
                str(n),
            ]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stderr
            found = re.search(r"Collected : (\d+)", out)
            if found is None:
                raise SystemExit(f"no instruction count in valgrind's output:\n{out[-2000:]}")
            counts.append(int(found.group(1)))
    return (counts[1] - counts[0]) / (long - short)


def make_env(
    preset: str,
    receiver: str,
    profile: str | None,
    backend: str | None = None,
    extra: dict[str, object] | None = None,
) -> gym.Env:
    """The environment to time, its action space seeded (the same actions for every receiver)."""
    try:
        env = gym.make(
            ENV_ID,
            traces_root=str(ROOT / "traces"),
            preset=preset,
            profile=profile,
            receiver=receiver,
            backend=backend,
            **(extra or {}),
        )
    except (InputError, TypeError, ValueError) as exc:
        _fail(str(exc).split(" was raised from the environment creator")[0])
    env.action_space.seed(0)
    env.reset(seed=0)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="lte", help="env preset (lte, 3g, 5g, wifi)")
    parser.add_argument(
        "--receiver",
        choices=RECEIVERS,
        action="append",
        help="receiver to time; repeat for several (default: every receiver, side by side)",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        action="append",
        help="simulator backend; repeat for several (default: $ARTIC_BACKEND, else python)",
    )
    parser.add_argument("--steps", type=int, default=20_000, help="environment steps to time")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed passes per receiver; the median is shown"
    )
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed passes first (one-time costs); 0: none"
    )
    parser.add_argument(
        "--profile", default=None, help="codec profile file (default: the shipped one)"
    )
    parser.add_argument(
        "--instructions", action="store_true", help="instructions per step under callgrind"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a VideoChatEnv keyword for every environment timed, e.g. feedback_interval_ms=0 "
        "(per-packet feedback); repeat for several",
    )
    parser.add_argument("--child-steps", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    receivers = args.receiver or list(RECEIVERS)
    backends = args.backend or [default_backend()]
    extra = env_kwargs(args.set)
    if args.child_steps:  # the measured body of --instructions: steps only, nothing printed
        env = make_env(args.preset, receivers[0], args.profile, extra=extra)
        run_once(env, [env.action_space.sample() for _ in range(args.child_steps)])
        return
    if args.instructions:
        for backend in backends:
            for receiver in receivers:
                per_step = instructions_per_step(
                    args.preset, receiver, args.profile, backend, settings=args.set
                )
                print(
                    json.dumps(
                        {
                            "benchmark": "env_instructions",
                            "preset": args.preset,
                            "receiver": receiver,
                            "backend": backend,
                            "instructions_per_step": round(per_step),
                            **({"settings": extra} if extra else {}),
                        }
                    )
                )
        return
    keys = [(b, r) for b in backends for r in receivers]
    envs = {key: make_env(args.preset, key[1], args.profile, key[0], extra) for key in keys}
    actions = [envs[keys[0]].action_space.sample() for _ in range(args.steps)]
    warm: dict[tuple[str, str], list[float]] = {key: [] for key in keys}
    for _ in range(max(0, args.warmup)):
        for key, env in envs.items():
            warm[key].append(run_once(env, actions)[0])
    runs: dict[tuple[str, str], list[tuple[float, float]]] = {key: [] for key in keys}
    for _ in range(max(1, args.repeats)):  # interleaved: the environments share the load
        for key, env in envs.items():
            runs[key].append(run_once(env, actions))
    for (backend, receiver), env in envs.items():
        line = summary(args.preset, receiver, args.steps, runs[backend, receiver], env)
        first = [round(args.steps / w, 1) for w in warm[backend, receiver]]
        settings = {"settings": extra} if extra else {}
        print(json.dumps({**line, "backend": backend, "warmup_steps_per_s": first, **settings}))


def summary(
    preset: str, receiver: str, steps: int, runs: list[tuple[float, float]], env: gym.Env
) -> dict[str, object]:
    """One receiver's line: the median pass's speed, and every pass's."""
    wall_s = statistics.median(w for w, _ in runs)
    cpu_s = statistics.median(c for _, c in runs)
    interval_s = env.unwrapped.interval_ms / 1000.0  # type: ignore[attr-defined]
    return {
        "benchmark": "env_random_actions",
        "preset": preset,
        "receiver": receiver,
        "steps": steps,
        "repeats": len(runs),
        "steps_per_s": round(steps / wall_s, 1),
        "sim_s_per_wall_s": round(steps * interval_s / wall_s, 1),
        "us_per_step": round(wall_s / steps * 1e6, 1),
        "cpu_us_per_step": round(cpu_s / steps * 1e6, 1),
        "steps_per_s_runs": [round(steps / w, 1) for w, _ in runs],
    }


if __name__ == "__main__":
    main()

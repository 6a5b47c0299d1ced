"""The layer contract (scripts/check_layers.py, run by `make lint`) holds, and it catches an
upward import, a lazy one included."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _checker():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("check_layers", ROOT / "scripts/check_layers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_layers"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_tree_keeps_its_layers() -> None:
    bad, cycles = _checker().check(ROOT)
    assert bad == [] and cycles == []


@pytest.mark.parametrize("lazy", [False, True])
def test_an_upward_import_is_caught(tmp_path: Path, lazy: bool) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.setuptools]\npackage-dir = { "pkg" = "pkg", "pkg.envs" = "envs" }\n'
        'packages = ["pkg", "pkg.net", "pkg.envs", "pkg.training"]\n'
        '[tool.artic_rl.layers]\nlayers = ["pkg.training", "pkg.envs", "pkg.net"]\n'
    )
    for folder in ("pkg", "pkg/net", "envs", "pkg/training"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "pkg/training/train.py").write_text("from pkg.envs import sim\n")
    (tmp_path / "envs/sim.py").write_text("from pkg.net import link\n")
    upward = "from pkg.training import train\n"
    if lazy:
        upward = "def f():\n    from ..training import train\n    return train\n"
    (tmp_path / "pkg/net/link.py").write_text(upward)
    bad, cycles = _checker().check(tmp_path)
    assert [(b.importer, b.line) for b in bad] == [("pkg.net.link", 2 if lazy else 1)]
    assert cycles == [("pkg.envs", "pkg.net", "pkg.training")]
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts/check_layers.py"), str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert "pkg/net/link.py" in run.stdout and "pkg.net.link -> pkg.training" in run.stdout


def test_the_lookup_table_environment_imports_and_steps_without_pyav_or_torch() -> None:
    code = (
        "import sys\n"
        "for name in ('av', 'torch', 'stable_baselines3'):\n"
        "    sys.modules[name] = None  # importing it now fails\n"
        "import gymnasium as gym\n"
        "import artic_rl.envs\n"
        "env = gym.make('artic/VideoChat-v0', traces_root='traces', preset='lte', episode_s=2.0)\n"
        "obs, info = env.reset(seed=0)\n"
        "obs, r, term, trunc, info = env.step(env.action_space.sample())\n"
        "print('ok', obs.shape)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("ok")

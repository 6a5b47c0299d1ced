"""numba's on-disk kernel cache follows every kernel source, not only the kernel's own file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from artic_rl.backend import kernel_sources, sync_kernel_cache

RUN = """
import sys
sys.path.insert(0, {folder!r})
if {guard}:
    from pathlib import Path
    from artic_rl.backend import kernel_sources, sync_kernel_cache
    sync_kernel_cache(kernel_sources((Path({folder!r}),)), Path({folder!r}) / "stamp")
import outer
print(outer.run())
"""


def _write_inner(folder: Path, value: int) -> None:
    (folder / "inner.py").write_text(
        f"from numba import njit\n\n\n@njit(cache=True)\ndef rule():\n    return {value}\n"
    )


def _write_kernels(folder: Path) -> None:
    _write_inner(folder, 1)
    (folder / "outer.py").write_text(
        textwrap.dedent(
            """\
            from numba import njit

            import inner


            @njit(cache=True)
            def run():
                return inner.rule()
            """
        )
    )


def _run(folder: Path, guard: bool) -> int:
    code = RUN.format(folder=str(folder), guard=guard)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def test_a_change_to_a_called_kernel_reaches_its_caller(tmp_path: Path) -> None:
    pytest.importorskip("numba")
    plain, guarded = tmp_path / "plain", tmp_path / "guarded"
    for folder in (plain, guarded):
        folder.mkdir()
        _write_kernels(folder)
        assert _run(folder, guard=folder is guarded) == 1
        _write_inner(folder, 2)  # only inner.py changes; outer.py, its cache's key, does not
    # numba alone keys outer's cache on outer.py: the old rule runs
    assert _run(plain, guard=False) == 1
    assert _run(guarded, guard=True) == 2


def test_the_cache_is_dropped_only_when_a_kernel_source_changed(tmp_path: Path) -> None:
    src = tmp_path / "pkg"
    cache = src / "__pycache__"
    cache.mkdir(parents=True)
    (src / "_a_kernels.py").write_text("@kernel\ndef f(): ...\n")
    (src / "_b.py").write_text("from numba import njit\n")
    (src / "plain.py").write_text("x = 1\n")
    stamp = tmp_path / "stamp"

    def cached() -> list[str]:
        return sorted(p.name for p in cache.iterdir())

    def fill() -> None:
        for name in ("_a_kernels.f-2.py311.nbi", "_a_kernels.f-2.py311.1.nbc", "_b.g-1.py311.nbi"):
            (cache / name).write_bytes(b"x")
        (cache / "plain.cpython-311.pyc").write_bytes(b"x")

    sources = kernel_sources((src,))
    assert [p.name for p in sources] == ["_a_kernels.py", "_b.py"]
    fill()
    assert sync_kernel_cache(sources, stamp)  # no stamp yet: dropped
    assert cached() == ["plain.cpython-311.pyc"]
    fill()
    assert not sync_kernel_cache(sources, stamp)  # unchanged: kept
    assert len(cached()) == 4
    (src / "_b.py").write_text("from numba import njit  # changed\n")
    assert sync_kernel_cache(sources, stamp)  # the other file changed: both files' caches go
    assert cached() == ["plain.cpython-311.pyc"]

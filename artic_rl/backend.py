"""Which implementation runs the simulator's hot rules: the plain-Python reference or compiled kernels.

The classes with a compiled twin (:class:`~artic_rl.control.delay_based.InterArrival`,
:class:`~artic_rl.control.delay_based.TrendlineEstimator`, :class:`~artic_rl.control.gcc.GccController`:
one kernel call per feedback report, :class:`~artic_rl.sender.observation.ObservationBuilder`: one
per update, :class:`~artic_rl.net.link.Link`) take ``backend="python" | "compiled"``; both give the same numbers
bit for bit (the tests compare them). The ``webrtc`` receiver's transport follows its link's backend
(``artic_rl.envs.webrtc_compiled.make_transport``: the whole event loop of
``artic_rl.envs.webrtc_transport`` as one kernel), and so does the environment's timeline
(``artic_rl.envs.timeline.make_timeline``: an interval's sender, link and receiver, and the
feedback's transport part, as kernel calls). ``"compiled"`` needs numba (the ``train`` extra).

An entry point that leaves the choice open reads :func:`default_backend`: the environment variable
``ARTIC_BACKEND``, read once per process (``python`` when unset).

numba caches each compiled kernel beside its source, keyed on that one file's timestamp and size.
A kernel that calls a kernel of another file compiles it in, so a change to that other file alone
would leave the old rule running from the cache: :func:`guard_kernel_cache`, run before the first
kernel is loaded, drops the kernel caches when any kernel source changed.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeAlias, TypeVar

Backend: TypeAlias = Literal["python", "compiled"]
BACKENDS: tuple[Backend, ...] = ("python", "compiled")
BACKEND_ENV = "ARTIC_BACKEND"
_Fn = TypeVar("_Fn", bound=Callable[..., Any])


def check_backend(name: str) -> Backend:
    """``name`` if it is a backend; ``compiled`` also checks that numba is installed."""
    if name == "python":
        return "python"
    if name == "compiled":
        if not _numba_installed():
            raise ImportError("backend 'compiled' needs numba: pip install 'artic-rl[train]'")
        guard_kernel_cache()
        return "compiled"
    raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")


@functools.cache
def _numba_installed() -> bool:
    return importlib.util.find_spec("numba") is not None


@functools.cache
def default_backend() -> Backend:
    """The backend named by ``$ARTIC_BACKEND`` (read once per process), else ``python``."""
    return check_backend(os.environ.get(BACKEND_ENV, "python") or "python")


def resolve_backend(name: str | None) -> Backend:
    """An explicit backend, or :func:`default_backend` for ``None`` (an env's ``backend`` kwarg)."""
    return default_backend() if name is None else check_backend(name)


def kernel(fn: _Fn) -> _Fn:
    """numba's ``njit``, cached, compiled without numba's reference counting (``_nrt=False``,
    numba's own option, missing from its type hints): for the kernels that allocate nothing.
    Each array argument then costs no atomic count update at each call and each helper's entry
    and exit; a kernel that allocated would fail to compile, not run wrong."""
    from numba import njit

    guard_kernel_cache()
    return njit(cache=True, _nrt=False)(fn)  # type: ignore[call-overload]


#: The packages whose folders hold the project's kernels (``envs/`` installs as ``artic_rl.envs``).
_KERNEL_PACKAGES: tuple[str, ...] = ("artic_rl", "artic_rl.envs")
#: Where the hash of the kernel sources whose caches are on disk is kept.
_STAMP = Path(__file__).resolve().parent / "__pycache__" / "numba-kernels.sha256"


def kernel_sources(roots: tuple[Path, ...] | None = None) -> list[Path]:
    """Every source file under ``roots`` (default: the folders of the project's packages) that
    defines a numba kernel (``njit`` or ``@kernel``)."""
    if roots is None:
        roots = tuple(_package_folder(name) for name in _KERNEL_PACKAGES)
    found = []
    for root in dict.fromkeys(roots):
        for path in sorted(root.rglob("*.py")):
            text = path.read_bytes()
            if b"njit" in text or b"@kernel" in text:
                found.append(path)
    return found


def sync_kernel_cache(sources: list[Path], stamp: Path) -> bool:
    """Remove the numba cache files (``__pycache__/<stem>.*.nbi|nbc``) of ``sources`` unless
    ``stamp`` holds the hash of their current contents, then write it. Returns whether it removed
    them. A folder that cannot be written (an installed package, whose sources do not change) is
    left as it is."""
    digest = hashlib.sha256()
    for path in sources:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    current = digest.hexdigest()
    try:
        if stamp.read_text().strip() == current:
            return False
    except OSError:
        pass
    try:
        for path in sources:
            cache = path.parent / "__pycache__"
            for suffix in ("nbi", "nbc"):
                for stale in cache.glob(f"{path.stem}.*.{suffix}"):
                    stale.unlink(missing_ok=True)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        tmp = stamp.with_name(f"{stamp.name}.{os.getpid()}.tmp")
        tmp.write_text(current + "\n")
        os.replace(tmp, stamp)
    except OSError:
        return False
    return True


def _package_folder(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations is not None, name
    return Path(next(iter(spec.submodule_search_locations))).resolve()


@functools.cache
def guard_kernel_cache() -> None:
    """Once per process, before any kernel is loaded: :func:`sync_kernel_cache` over the project's
    kernel sources, so every kernel compiles from the current sources once after any of them
    changed."""
    sync_kernel_cache(kernel_sources(), _STAMP)

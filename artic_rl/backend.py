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
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Callable
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

    return njit(cache=True, _nrt=False)(fn)  # type: ignore[call-overload]

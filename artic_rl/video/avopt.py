"""Integer AVOptions of an open PyAV codec context, set live where PyAV gives no setter.

PyAV writes ``bit_rate`` on an open encoder but not ``rc_max_rate`` or ``rc_buffer_size`` (its
``max_bit_rate`` is read-only and the buffer is not exposed), while FFmpeg's libx264 wrapper reads
all three again before every frame (``reconfig_encoder``) and re-configures x264 when one changed.
:class:`LiveOptions` writes them through FFmpeg's own AVOption API (``av_opt_set_int``, the API
behind PyAV's ``options``) in the libavutil PyAV loaded, on the context's ``AVCodecContext``.

PyAV keeps that pointer in the Cython object's first field (``CodecContext.ptr``, after the object
header and the method table). It is read there and checked before any use: the address must lie in
the process's readable memory (``/proc/self/maps``) and its first word must be libavcodec's class
of ``AVCodecContext`` (``avcodec_get_class``). A PyAV laid out otherwise fails that check with
:class:`LiveOptionsError`; nothing is written through an unchecked pointer.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from pathlib import Path
from typing import Any

_PTR_OFFSET = object.__basicsize__ + ctypes.sizeof(ctypes.c_void_p)  # header, then the vtable


class LiveOptionsError(RuntimeError):
    """The codec context's options cannot be reached (another PyAV layout or FFmpeg build)."""


@functools.cache
def _libraries() -> tuple[ctypes.CDLL, ctypes.CDLL]:
    """libavutil and libavcodec as PyAV loaded them: its wheel's own copies, else the system's."""
    import av

    package = Path(av.__file__).resolve().parent
    for folder in (package.parent / "av.libs", package / ".dylibs"):  # manylinux, macOS wheels
        util, codec = sorted(folder.glob("libavutil*")), sorted(folder.glob("libavcodec*"))
        if util and codec:
            return ctypes.CDLL(str(util[0])), ctypes.CDLL(str(codec[0]))
    util_name, codec_name = ctypes.util.find_library("avutil"), ctypes.util.find_library("avcodec")
    if util_name and codec_name:  # PyAV built against the system's FFmpeg
        return ctypes.CDLL(util_name), ctypes.CDLL(codec_name)
    raise LiveOptionsError(f"no libavutil / libavcodec found beside PyAV ({package})")


def _readable(address: int, size: int) -> bool:
    """Whether ``[address, address + size)`` lies in one readable mapping of this process."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:  # no procfs: rely on the class check alone
        return True
    for line in maps.splitlines():
        span, perms = line.split()[:2]
        lo, hi = (int(x, 16) for x in span.split("-"))
        if lo <= address and address + size <= hi:
            return perms.startswith("r")
    return False


class LiveOptions:
    """Integer AVOptions (``maxrate``, ``bufsize``, ...) of one open codec context, read and set."""

    def __init__(self, ctx: Any) -> None:
        import av

        if not isinstance(ctx, av.codec.context.CodecContext):
            raise LiveOptionsError(f"not a PyAV codec context: {type(ctx).__name__}")
        util, codec = _libraries()
        util.av_opt_set_int.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_int64,
            ctypes.c_int,
        ]
        util.av_opt_get_int.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_int64),
        ]
        codec.avcodec_get_class.restype = ctypes.c_void_p
        ptr = ctypes.c_void_p.from_address(id(ctx) + _PTR_OFFSET).value
        word = ctypes.sizeof(ctypes.c_void_p)
        if not ptr or ptr % word or not _readable(ptr, word):
            raise LiveOptionsError(f"PyAV {av.__version__}: no AVCodecContext where expected")
        if ctypes.c_void_p.from_address(ptr).value != codec.avcodec_get_class():
            raise LiveOptionsError(f"PyAV {av.__version__}: no AVCodecContext where expected")
        self._ctx = ctx  # keeps the AVCodecContext alive
        self._ptr = ptr
        self._util = util

    def get_int(self, name: str) -> int:
        """The option's current value."""
        out = ctypes.c_int64()
        ret = self._util.av_opt_get_int(self._ptr, name.encode(), 0, ctypes.byref(out))
        if ret < 0:
            raise LiveOptionsError(f"av_opt_get_int({name!r}) failed ({ret})")
        return int(out.value)

    def set_int(self, name: str, value: int) -> None:
        """Set the option; the codec reads it from the next frame where it reads it live."""
        ret = self._util.av_opt_set_int(self._ptr, name.encode(), int(value), 0)
        if ret < 0:
            raise LiveOptionsError(f"av_opt_set_int({name!r}, {value}) failed ({ret})")

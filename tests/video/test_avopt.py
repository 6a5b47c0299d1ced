"""artic_rl.video.avopt: integer AVOptions of an open PyAV codec context, read and set live."""

from __future__ import annotations

import av
import pytest

from artic_rl.video import avopt
from artic_rl.video.avopt import LiveOptions, LiveOptionsError


def _x264() -> av.CodecContext:
    ctx = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height, ctx.pix_fmt = 64, 48, "yuv420p"
    ctx.bit_rate = 123_000
    return ctx


def test_an_option_set_is_what_pyav_reads_back() -> None:
    ctx = _x264()
    live = LiveOptions(ctx)
    assert live.get_int("b") == 123_000
    live.set_int("maxrate", 456_000)
    live.set_int("bufsize", 78_000)
    assert ctx.max_bit_rate == 456_000  # PyAV's own (read-only) view of rc_max_rate
    assert live.get_int("bufsize") == 78_000


def test_an_unknown_option_is_an_error_not_a_silent_no_op() -> None:
    live = LiveOptions(_x264())
    with pytest.raises(LiveOptionsError, match="no_such_option"):
        live.set_int("no_such_option", 1)
    with pytest.raises(LiveOptionsError, match="no_such_option"):
        live.get_int("no_such_option")


def test_anything_but_a_codec_context_is_refused() -> None:
    with pytest.raises(LiveOptionsError, match="not a PyAV codec context"):
        LiveOptions(object())


def test_another_layout_fails_the_check_instead_of_writing(monkeypatch: pytest.MonkeyPatch) -> None:
    # the field after the pointer is an int (the stream index), not an AVCodecContext
    monkeypatch.setattr(avopt, "_PTR_OFFSET", avopt._PTR_OFFSET + 8)
    with pytest.raises(LiveOptionsError, match="no AVCodecContext where expected"):
        LiveOptions(_x264())

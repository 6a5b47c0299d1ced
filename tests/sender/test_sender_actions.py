"""``ActionCodec``: the tier grid, decode, encode (nearest in log-rate) and round trips, by hand.

Bitrate tiers: 20 log-spaced from 100 to 4000 kbps, ``round(100 x 40 ** (k / 19))``; the ratio
between neighbours is 40 ** (1/19) = exp(3.688879 / 19) = exp(0.194152) = 1.214280.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from artic_rl.sender.actions import (
    BITRATES_KBPS,
    FPS_CHOICES,
    ROI_LEVELS,
    TIER_RATIO,
    ActionCodec,
    SenderAction,
    bitrate_tiers,
)

# 100 x 1.214280 ** k, worked out: 100, 121.43, 147.45, 179.04, 217.41, 263.99, 320.56, 389.25,
# 472.66, 573.95, 696.93, 846.27, 1027.61, 1247.80, 1515.18, 1839.86, 2234.10, 2712.83, 3294.13,
# 4000 -> rounded:
TIERS = (
    100.0, 121.0, 147.0, 179.0, 217.0, 264.0, 321.0, 389.0, 473.0, 574.0,
    697.0, 846.0, 1028.0, 1248.0, 1515.0, 1840.0, 2234.0, 2713.0, 3294.0, 4000.0,
)  # fmt: skip


def test_tier_grid_by_hand() -> None:
    assert BITRATES_KBPS == TIERS
    assert FPS_CHOICES == (1.0, 2.0, 5.0, 10.0, 15.0, 30.0)
    assert ROI_LEVELS == (0, 1, 2, 3)
    codec = ActionCodec()
    assert codec.nvec == (20, 4, 6)
    space = codec.space()
    assert space.nvec.tolist() == [20, 4, 6]


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ((0, 0, 0), SenderAction(100.0, 0, 1.0)),
        ((12, 0, 2), SenderAction(1028.0, 0, 5.0)),  # tests/envs: tier 12, uniform, 5 fps
        ((8, 2, 4), SenderAction(473.0, 2, 15.0)),
        ((19, 3, 5), SenderAction(4000.0, 3, 30.0)),
        (np.array([10, 1, 3]), SenderAction(697.0, 1, 10.0)),
    ],
)
def test_decode_by_hand(action: tuple[int, int, int], expected: SenderAction) -> None:
    assert ActionCodec().decode(action) == expected


@pytest.mark.parametrize(
    "action",
    [
        (20, 0, 0),  # 20 tiers: 0..19
        (-1, 0, 0),
        (0, 4, 0),  # 4 ROI levels
        (0, 0, 6),  # 6 frame rates
        (1, 2),  # not three
        (1, 2, 3, 4),
        None,
        ("a", 0, 0),
    ],
)
def test_decode_rejects_off_grid(action: object) -> None:
    with pytest.raises(ValueError):
        ActionCodec().decode(action)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rate", "roi", "fps", "expected"),
    [
        (1028.0, 0, 5.0, [12, 0, 2]),
        # tiers 100 and 121 meet, in log-rate, at sqrt(100 x 121) = 110 kbps
        (109.9, 0, 30.0, [0, 0, 5]),
        (110.1, 0, 30.0, [1, 0, 5]),
        # 846 and 1028 meet at sqrt(846 x 1028) = sqrt(869688) = 932.57 (not at 937, the mean)
        (932.0, 1, 30.0, [11, 1, 5]),
        (933.0, 1, 30.0, [12, 1, 5]),
        (0.0, 0, 30.0, [0, 0, 5]),  # below the grid: the lowest tier
        (1e6, 0, 30.0, [19, 0, 5]),  # above: the highest
        # ROI level clamped to the grid: 7 -> 3, -2 -> 0
        (100.0, 7, 30.0, [0, 3, 5]),
        (100.0, -2, 30.0, [0, 0, 5]),
        # fps nearest: 12 is 2 from 10, 3 from 15 -> 10 (index 3); 13 -> 15 (index 4)
        (100.0, 0, 12.0, [0, 0, 3]),
        (100.0, 0, 13.0, [0, 0, 4]),
        (100.0, 0, 100.0, [0, 0, 5]),
        (100.0, 0, 0.0, [0, 0, 0]),
    ],
)
def test_encode_nearest_by_hand(rate: float, roi: int, fps: float, expected: list[int]) -> None:
    got = ActionCodec().encode(rate, roi, fps)
    assert got.dtype == np.int64
    assert got.tolist() == expected


def test_encode_defaults_are_roi_0_and_30_fps() -> None:
    assert ActionCodec().encode(473.0).tolist() == [8, 0, 5]


def test_every_grid_point_round_trips() -> None:
    codec = ActionCodec()
    for i, j, k in itertools.product(range(20), range(4), range(6)):
        a = codec.decode((i, j, k))
        assert a == SenderAction(TIERS[i], j, FPS_CHOICES[k])
        assert codec.encode(a.rate_kbps, a.roi_level, a.fps).tolist() == [i, j, k]


@pytest.mark.parametrize("k", range(19))
def test_rates_within_half_a_step_of_a_tier_round_trip_to_it(k: int) -> None:
    # half a step in log-rate is 1.214280 ** 0.5 = 1.101944; 1.09 stays on the tier's side
    codec = ActionCodec()
    assert codec.decode(codec.encode(TIERS[k] * 1.09)).rate_kbps == TIERS[k]
    assert codec.decode(codec.encode(TIERS[k + 1] / 1.09)).rate_kbps == TIERS[k + 1]


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(1000.0, 846.0), (1028.0, 1028.0), (1027.9, 846.0), (50.0, 100.0), (5000.0, 4000.0)],
)
def test_floor_rate_by_hand(rate: float, expected: float) -> None:
    assert ActionCodec().floor_rate(rate) == expected


def test_custom_grid() -> None:
    codec = ActionCodec(bitrates_kbps=(100.0, 1000.0), roi_levels=(0, 2), fps_choices=(10.0, 30.0))
    assert codec.nvec == (2, 2, 2)
    # tiers meet at sqrt(100 x 1000) = 316.23; ROI 1 ties between 0 and 2 -> the first (0);
    # fps 20 ties between 10 and 30 -> the first (10)
    assert codec.encode(316.0, 1, 20.0).tolist() == [0, 0, 0]
    assert codec.encode(317.0, 2, 25.0).tolist() == [1, 1, 1]
    assert codec.decode((1, 1, 0)) == SenderAction(1000.0, 2, 10.0)
    with pytest.raises(ValueError):
        codec.decode((2, 0, 0))


# The tiers above 4 Mbps continue 100 x 40 ** (k / 19) = 4000 x 1.214280 ** (k - 19), worked out
# for k = 20..30: 4857.12, 5897.91, 7161.71, 8696.33, 10559.78, 12822.53, 15570.14, 18906.52,
# 22957.81, 27877.22, 33850.76 -> rounded; 33850.76 > 32000 ends the grid at k = 29.
ABOVE = (4857.0, 5898.0, 7162.0, 8696.0, 10560.0, 12823.0, 15570.0, 18907.0, 22958.0, 27877.0)


def test_the_default_ceiling_is_todays_codec() -> None:
    assert bitrate_tiers() == bitrate_tiers(4000) == TIERS
    assert ActionCodec.up_to(4000) == ActionCodec() == ActionCodec.up_to(4000.0)
    assert ActionCodec().max_rate_kbps == 4000.0
    assert ActionCodec().ceiling_kbps is None


def test_a_higher_ceiling_continues_the_spacing() -> None:
    codec = ActionCodec.up_to(32000)
    assert codec.bitrates_kbps[:20] == TIERS  # every existing index means what it meant
    assert codec.bitrates_kbps[20:] == ABOVE
    assert codec.nvec == (30, 4, 6)
    assert codec.max_rate_kbps == 32000.0  # the controllers' ceiling, above the top tier
    ratios = np.exp(np.diff(np.log(codec.bitrates_kbps[19:])))  # from 4 Mbps up
    assert np.allclose(ratios, TIER_RATIO, atol=2e-4)  # 1.214280, up to rounding to whole kbps
    assert ActionCodec.up_to(5000).bitrates_kbps == (*TIERS, 4857.0)
    assert ActionCodec.up_to(4857).bitrates_kbps == TIERS  # 4857.12 is above 4857
    # decode and encode agree with the default grid on the common tiers
    assert codec.decode((19, 0, 5)) == ActionCodec().decode((19, 0, 5))
    assert codec.encode(27_000.0).tolist() == [29, 0, 5]
    assert ActionCodec().encode(27_000.0).tolist() == [19, 0, 5]


@pytest.mark.parametrize("bad", [3999.9, 0, -1, "abc", "32000", True, None, float("inf"), math.nan])
def test_a_bad_ceiling_names_the_key(bad: object) -> None:
    with pytest.raises(ValueError, match=r"^max_rate_kbps must be a number >= 4000 kbps"):
        ActionCodec.up_to(bad)  # type: ignore[arg-type]

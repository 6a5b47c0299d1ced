"""Plots of accuracy models against bitrate, beside the authors' measured table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from artic_rl.mllm.accuracy import load_accuracy_model

#: The Artic authors' table (BRIEF / confidence.csv): tiers, mean confidence, share >= 0.8.
ARTIC_TIERS_KBPS = (200, 400, 610, 910, 1710, 3150)
ARTIC_MEAN = (0.47, 0.81, 0.89, 0.95, 0.97, 0.98)
ARTIC_SHARE = (0.275, 0.713, 0.832, 0.904, 0.946, 1.0)


def plot_models(names: Sequence[str], path: str | Path) -> None:
    """Mean curve and share >= 0.8 of each model from 50 to 4000 kbps, with the authors' points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kbps = np.geomspace(50, 4000, 80)
    fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.8))
    for name in names:
        table = load_accuracy_model(name).table(kbps)
        axes[0].plot(kbps, table["mean"], label=f"{name} model")
        axes[1].plot(kbps, table["share_at_threshold"], label=f"{name} model")
    axes[0].plot(ARTIC_TIERS_KBPS, ARTIC_MEAN, "ko", label="Artic measured")
    axes[1].plot(ARTIC_TIERS_KBPS, ARTIC_SHARE, "ko", label="Artic measured")
    for ax, label in zip(axes, ("mean accuracy", "share of questions >= 0.8"), strict=True):
        ax.set_xscale("log")
        ax.set_xlabel("equivalent bitrate (kbps, 1080p)")
        ax.set_ylabel(label)
        ax.set_ylim(0, 1.02)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

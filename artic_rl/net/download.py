"""Fetch the public Mahimahi cellular traces from their canonical repository (or a mirror).

The base may be an ``https://`` or ``file://`` URL or a local directory; every file is checked to
parse as a Mahimahi trace before it is moved into place (nothing half-written).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from artic_rl.errors import ArticError, InputError
from artic_rl.net.formats import atomic_write, parse_mahimahi

MAHIMAHI_URL = "https://raw.githubusercontent.com/ravinet/mahimahi/master/traces"
MAHIMAHI_FILES = (
    "ATT-LTE-driving-2016.down",
    "ATT-LTE-driving-2016.up",
    "ATT-LTE-driving.down",
    "ATT-LTE-driving.up",
    "TMobile-LTE-driving.down",
    "TMobile-LTE-driving.up",
    "TMobile-LTE-short.down",
    "TMobile-LTE-short.up",
    "TMobile-UMTS-driving.down",
    "TMobile-UMTS-driving.up",
    "Verizon-EVDO-driving.down",
    "Verizon-EVDO-driving.up",
    "Verizon-LTE-driving.down",
    "Verizon-LTE-driving.up",
    "Verizon-LTE-short.down",
    "Verizon-LTE-short.up",
)
DATASETS = {"mahimahi": (MAHIMAHI_URL, MAHIMAHI_FILES)}


def _fetch(base: str, name: str, timeout_s: float) -> str:
    if "://" not in base:
        path = Path(base) / name
        try:
            return path.read_text()
        except OSError as err:
            raise ArticError(f"cannot read {path}: {err.strerror or err}") from None
    url = f"{base.rstrip('/')}/{name}"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.read().decode()
    except (urllib.error.URLError, OSError, UnicodeDecodeError) as err:
        raise ArticError(f"cannot fetch {url}: {getattr(err, 'reason', err)}") from None


def download(
    dataset: str,
    out_dir: str | Path,
    base_url: str | None = None,
    files: Sequence[str] | None = None,
    timeout_s: float = 60.0,
) -> list[Path]:
    """Download a dataset's trace files into ``out_dir``; returns the written paths.

    Args:
        dataset: ``mahimahi``.
        out_dir: Destination folder (created).
        base_url: Where the files are (default: the canonical repository).
        files: A subset of the dataset's file names (default: all).
        timeout_s: Per-file network timeout.
    """
    if dataset not in DATASETS:
        raise ArticError(f"unknown dataset {dataset!r} (expected one of {', '.join(DATASETS)})")
    default_url, names = DATASETS[dataset]
    chosen = list(files) if files else list(names)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in chosen:
        if "/" in name or name.startswith("."):
            raise ArticError(f"bad file name {name!r}")
        text = _fetch(base_url or default_url, name, timeout_s)
        try:
            parse_mahimahi(text, out / name)
        except InputError as err:
            raise ArticError(f"downloaded file is not a Mahimahi trace: {err}") from None
        with atomic_write(out / name) as handle:
            handle.write(text)
        written.append(out / name)
    return written

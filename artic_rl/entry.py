"""The shell of the hydra entry points (``train.py``, ``evaluate.py``, ``export.py``, ``stream.py``).

Every entry point behaves like ``artic-rl``:

- **validation before work**: the whole configuration is composed and checked (types and ranges
  by the structured configs, names, files, and the job's own rules in ``validate``) before hydra
  makes a run folder, so a bad start leaves nothing behind;
- **one line for bad input**: a user error (:class:`~artic_rl.errors.ArticError`, or hydra's and
  OmegaConf's composition errors) prints ``<prog>: error: <what, where, what is allowed>`` and exits
  2; an internal error still shows its traceback;
- a failure found once the run folder exists (a multirun job, or during the work) **marks the
  folder**: it is renamed ``<name>-failed`` and its log holds the error;
- the console's output is also in the run's log (``<run>/<job>.log``);
- ``--help`` lists every key with the comment that documents it.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

EXIT_USAGE = 2
_HYDRA_HINT = "Set the environment variable HYDRA_FULL_ERROR=1"


@dataclass(frozen=True)
class Entry:
    """One entry point.

    Attributes:
        prog: the script's name, the prefix of its error lines.
        conf_dir: the config folder (the repository's ``conf/``), passed in by the script.
        config_name: the primary config (``config``, ``evaluate``, ...).
        task: the work, given the composed config; its value is ``main``'s (sweepers read it).
        validate: every check that needs no work, given the composed config inside hydra.
        prepare: rewrites the overrides before the run (``train.resume`` continues in place);
            gets the composed config and the overrides, returns the overrides to run with.
        schemas: the structured configs whose documented fields ``--help`` lists, by key.
    """

    prog: str
    conf_dir: Path
    config_name: str
    task: Callable[[Any], Any]
    validate: Callable[[Any], None]
    prepare: Callable[[Any, list[str]], list[str]] | None = None
    schemas: dict[str, type] = dataclasses.field(default_factory=dict)


def user_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that are the user's input, not the program's fault."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from artic_rl.errors import ArticError

    return (ArticError, HydraException, OmegaConfBaseException)


def one_line(err: BaseException) -> str:
    """The error as one line: hydra's and OmegaConf's multi-line reports folded, hints dropped."""
    from omegaconf.errors import OmegaConfBaseException

    text = str(err)
    cause = err.__cause__
    if isinstance(cause, OmegaConfBaseException) and str(cause) not in text:
        text += "\n" + str(cause)
    keep = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith((_HYDRA_HINT, "object_type=", "reference_type=")):
            continue
        keep.append(line)
    folded = "; ".join(keep) or type(err).__name__
    return re.sub(r"\s+", " ", folded)


def fail(prog: str, err: BaseException, stream: TextIO | None = None) -> None:
    """Print the one-line error and exit 2."""
    print(f"{prog}: error: {one_line(err)}", file=stream or sys.stderr)
    raise SystemExit(EXIT_USAGE)


def compose(entry: Entry, overrides: Sequence[str]) -> Any:
    """Compose ``entry``'s config with ``overrides`` as hydra will (inside an initialised hydra)."""
    from hydra import compose as hydra_compose

    return hydra_compose(config_name=entry.config_name, overrides=list(overrides))


def precheck(entry: Entry, overrides: list[str]) -> list[str]:
    """Compose, prepare and validate before any work; the overrides to run with."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from artic_rl.training.config import register_configs

    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(entry.conf_dir), version_base="1.3"):
        cfg = compose(entry, overrides)
        if entry.prepare is not None:
            overrides = entry.prepare(cfg, overrides)
            cfg = compose(entry, [o for o in overrides if not o.startswith("hydra.")])
        entry.validate(cfg)
    GlobalHydra.instance().clear()
    return overrides


def run(entry: Entry, argv: Sequence[str] | None = None) -> Any:
    """Run ``entry`` on the command line ``argv`` (default: ``sys.argv[1:]``)."""
    import hydra

    from artic_rl.training.config import register_configs

    args = list(sys.argv[1:] if argv is None else argv)
    if "--help" in args or "-h" in args:
        print(help_text(entry))
        return 0
    # plain runs are checked whole before hydra makes a folder; hydra's own flags (-m, --cfg,
    # --info, ...) go straight to hydra, and each job of a sweep is checked as it starts
    if not any(a.startswith("-") for a in args):
        try:
            args = precheck(entry, args)
        except user_errors() as err:
            fail(entry.prog, err)
    register_configs()
    if not any(a.startswith("hydra.job.name=") for a in args):
        args.append(f"hydra.job.name={Path(entry.prog).stem}")  # the log is <run>/<prog>.log
    sys.argv = [sys.argv[0], *args]

    def job(cfg: Any) -> Any:
        try:
            entry.validate(cfg)
            with tee_to_log():
                return entry.task(cfg)
        except user_errors() as err:
            mark_failed(err)
            fail(entry.prog, err)

    app = hydra.main(
        config_path=str(entry.conf_dir), config_name=entry.config_name, version_base="1.3"
    )(job)
    return app()


def _run_dir() -> Path | None:
    from hydra.core.hydra_config import HydraConfig

    try:
        return Path(HydraConfig.get().runtime.output_dir)
    except ValueError:  # not inside hydra
        return None


def _log_file() -> Path | None:
    from hydra.core.hydra_config import HydraConfig

    run_dir = _run_dir()
    if run_dir is None:
        return None
    return run_dir / f"{HydraConfig.get().job.name}.log"


def mark_failed(err: BaseException) -> None:
    """Write the error into the run's log and rename the folder ``<name>-failed``."""
    run_dir, log = _run_dir(), _log_file()
    if run_dir is None or log is None or not run_dir.is_dir():
        return
    with log.open("a") as fh:
        fh.write(f"error: {one_line(err)}\n")
    target = run_dir.with_name(run_dir.name + "-failed")
    if not target.exists():
        run_dir.rename(target)


class _Tee:
    """A text stream that writes to the console and to a log file."""

    def __init__(self, console: TextIO, log: TextIO) -> None:
        self.console, self.log = console, log

    def write(self, text: str) -> int:
        self.log.write(text)
        return self.console.write(text)

    def flush(self) -> None:
        self.log.flush()
        self.console.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)


class tee_to_log:  # noqa: N801 (a context manager used like a function)
    """Within the block, what the job prints also goes into its hydra log file."""

    def __enter__(self) -> None:
        self.saved = sys.stdout
        log = _log_file()
        self.fh = None if log is None else log.open("a")
        if self.fh is not None:
            sys.stdout = _Tee(self.saved, self.fh)

    def __exit__(self, *exc: object) -> None:
        sys.stdout = self.saved
        if self.fh is not None:
            self.fh.close()


def documented_fields(cls: type, prefix: str) -> list[str]:
    """``key: default  # comment`` for each field of a settings dataclass, from its source."""
    source = inspect.getsource(cls)
    lines = []
    for f in dataclasses.fields(cls):
        m = re.search(rf"^\s+{f.name}:[^=\n]*=\s*(.*?)\s*#\s*(.*)$", source, re.MULTILINE)
        default = m.group(1) if m else "?"
        if default.startswith("field(default_factory="):
            inner = default[len("field(default_factory=") : -1]
            default = {"dict": "{}", "list": "[]"}.get(inner, inner.removeprefix("lambda: "))
        comment = m.group(2) if m else ""
        lines.append(f"  {prefix}.{f.name} = {default}".ljust(44) + f"  # {comment}")
    return lines


def help_text(entry: Entry) -> str:
    """The script's usage, its config groups, its documented YAML and structured keys."""
    primary = (entry.conf_dir / f"{entry.config_name}.yaml").read_text()
    groups = sorted(p.name for p in entry.conf_dir.iterdir() if p.is_dir() and p.name != "hydra")
    out = [
        f"usage: python {entry.prog} [KEY=VALUE ...]   (hydra overrides; -m for a sweep)",
        "",
        "Config groups (GROUP=OPTION):",
    ]
    for g in groups:
        options = sorted(p.stem for p in (entry.conf_dir / g).glob("*.yaml"))
        out.append(f"  {g}: {', '.join(options)}")
    out += ["", f"conf/{entry.config_name}.yaml:", ""]
    out += ["  " + line for line in primary.splitlines() if not line.startswith("hydra:")]
    for key, cls in entry.schemas.items():
        out += ["", f"{key}.* (structured config {cls.__module__}.{cls.__name__}):"]
        out += documented_fields(cls, key)
    env_base = entry.conf_dir / "env" / "base.yaml"
    if env_base.is_file():
        out += ["", "env.* (conf/env/base.yaml; presets override a few):", ""]
        out += ["  " + line for line in env_base.read_text().splitlines()]
    return "\n".join(out)

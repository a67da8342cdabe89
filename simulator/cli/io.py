"""File I/O for the CLI: atomic writes, the resumable checkpoint store, and run provenance.

Only the CLI (and the bench harness it drives) imports this module; the library itself does no I/O.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from simulator.studies.registry import MemoryStore


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.bool_):
        return bool(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def to_json(obj: Any, *, indent: int | None = 1) -> str:
    """JSON text for results; non-finite floats become ``null`` (strict JSON has no NaN)."""
    return json.dumps(_finite_or_none(obj), indent=indent, default=_json_default, allow_nan=False)


def _finite_or_none(obj: Any) -> Any:
    if isinstance(obj, float | np.floating):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite_or_none(v) for v in obj]
    return obj


class FileCheckpointStore(MemoryStore):
    """Checkpoint store backed by an append-only JSON-lines file.

    Each finished cell is appended as one line and flushed to disk, so an interrupted sweep loses
    at most the cell in flight. A torn last line (killed mid-write) is ignored on reload.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                self._cells[entry["key"]] = entry["value"]

    def put(self, key: str, value: Any) -> None:
        # Round-trip through JSON so a resumed run sees exactly what a fresh run saw.
        line = to_json({"key": key, "value": value}, indent=None)
        self._cells[key] = json.loads(line)["value"]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def git_state(repo: Path | None = None) -> dict[str, Any]:
    """Commit hash and dirty flag of the source tree (None when not in a git checkout)."""
    cwd = repo or Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10
        )
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def provenance(**run: Any) -> dict[str, Any]:
    """Provenance block for a results JSON: versions, commit, platform, plus the run's settings."""
    import scipy

    import simulator

    # CuPy is only ever imported when the cupy backend was asked for; never import it here.
    cupy = sys.modules.get("cupy")
    cupy_version = getattr(cupy, "__version__", None)
    return {
        "package": "infonce-sim",
        "version": simulator.__version__,
        **git_state(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "cupy": cupy_version,
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu_count": os.cpu_count(),
        **run,
    }

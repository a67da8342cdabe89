"""File I/O for the CLI: atomic writes, result files and the resumable checkpoint store.

Only the CLI (and the bench harness it drives) imports this module; the library itself does no I/O.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from simulator.report import study_files


def _umask() -> int:
    # os.umask can only be read by setting it; the CLI is single-threaded when it writes.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and an atomic rename.

    The file gets the permissions of an ordinary ``open(path, "w")`` (``0o666`` less the umask):
    ``mkstemp`` creates its file as ``0o600``, which would otherwise survive the rename.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
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


def result_files(result: dict[str, Any]) -> dict[str, bytes]:
    """Every file of one result (its JSON and the renderings of :mod:`simulator.report`), in
    memory, so a rendering failure writes nothing."""
    return {f"{result['study']}.json": to_json(result).encode(), **study_files(result)}


def write_files(out: Path, files: dict[str, bytes]) -> None:
    """Write rendered files into folder ``out``, each atomically."""
    for name, data in files.items():
        atomic_write_bytes(Path(out) / name, data)


def check_out_folder(out: Path) -> None:
    """ValueError before any work unless files can be written into folder ``out``.

    ``out`` may be missing, with missing parents: they are created when the first file is
    written (as ``mkdir -p``). Refused: an empty path, a path that is (or lies under) an existing
    file, and a folder whose first existing ancestor cannot be written into; the last is probed
    by creating and removing a temporary file there, which also catches read-only mounts and
    folders that permission bits alone would not reveal.
    """
    if str(out) == "":
        raise ValueError("--out must name a folder, got an empty path")
    existing = Path(out)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"--out {out}: {existing} exists and is not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValueError(f"--out {out}: cannot write into {existing} ({reason})") from None


def remove_if_empty(folder: Path) -> None:
    """Remove ``folder`` if it exists and holds nothing (a finished run's checkpoint folder)."""
    try:
        Path(folder).rmdir()
    except OSError:
        pass  # missing, or not empty: another run's checkpoints stay

"""Run provenance: package and library versions, the source commit and its dirty flag.

The commit comes from where the running code came from:

- an installed copy (``pip install .``, a wheel): the version string that setuptools-scm derived
  from the checkout at build time (``0.1.devN+g<hash>`` and ``.d<date>`` when the tree was dirty);
  git is never called from the install location, which is not a checkout;
- a source checkout (editable install, or the package imported from the repository): git, run once
  in the repository root at the start of a command, before the command writes anything, with the
  command's own output folder left out of the dirty check.

When neither source can say (a tarball without git metadata, git missing), the fields are ``None``.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

import simulator

#: A setuptools-scm local version segment naming the commit (``g`` + abbreviated hash).
_NODE = re.compile(r"^g([0-9a-f]{7,40})$")
#: A setuptools-scm local version segment marking a dirty tree (``d`` + build date).
_DIRTY = re.compile(r"^d[0-9]{8}$")


def version_commit(version: str) -> tuple[str | None, bool | None]:
    """Commit hash and dirty flag encoded in a setuptools-scm version string.

    Parameters
    ----------
    version : str
        A PEP 440 version, e.g. ``0.1.dev3+g1a2b3c4`` or ``0.1.dev3+g1a2b3c4.d20260101``.

    Returns
    -------
    commit : str or None
        The abbreviated commit hash, or None when the version names no commit (a release tag, or
        the fallback version of a source tree without git metadata).
    dirty : bool or None
        Whether the tree had uncommitted changes at build time; None when no commit is named.
    """
    _, _, local = version.partition("+")
    segments = local.split(".") if local else []
    nodes = [m.group(1) for s in segments if (m := _NODE.match(s))]
    if not nodes:
        return None, None
    return nodes[0], any(_DIRTY.match(s) for s in segments)


def checkout_root(package_dir: Path | None = None) -> Path | None:
    """The repository root when the package is imported from a git checkout, else None.

    Only the package's own parent folder counts (it holds ``pyproject.toml`` and ``.git``), so an
    installed copy in a ``site-packages`` that happens to sit inside some checkout is not mistaken
    for that checkout.
    """
    pkg = Path(package_dir or Path(simulator.__file__).resolve().parent)
    root = pkg.parent
    if (root / ".git").exists() and (root / "pyproject.toml").is_file():
        return root
    return None


def _git(root: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def git_state(root: Path, exclude: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Commit and dirty flag of the checkout at ``root``; tracked files under ``exclude`` (the
    command's own output folders) do not count as changes. ``None`` fields when git cannot say."""
    head = _git(root, "rev-parse", "HEAD")
    if head is None:
        return {"commit": None, "dirty": None}
    spec = ["."]
    resolved = root.resolve()
    for folder in exclude:
        try:
            rel = Path(folder).resolve().relative_to(resolved)
        except ValueError:
            continue  # outside the checkout: cannot touch tracked files
        spec.append(f":(exclude){rel.as_posix() or '.'}")
    status = _git(root, "status", "--porcelain", "--untracked-files=no", "--", *spec)
    return {"commit": head.strip(), "dirty": None if status is None else bool(status.strip())}


def source_state(exclude: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Where the running code came from: ``commit``, ``dirty`` and how they were read.

    Call it once at the start of a command, before anything is written.
    """
    root = checkout_root()
    if root is not None:
        return {**git_state(root, exclude), "source": "git checkout"}
    commit, dirty = version_commit(simulator.__version__)
    return {"commit": commit, "dirty": dirty, "source": "package version"}


def provenance(source: dict[str, Any], **run: Any) -> dict[str, Any]:
    """Provenance block of a result: versions, platform, ``source`` (from :func:`source_state`)
    and the run's own settings."""
    import scipy

    # CuPy is only ever imported when the cupy backend was used; never import it here.
    cupy = sys.modules.get("cupy")
    return {
        "package": "infonce-sim",
        "version": simulator.__version__,
        **source,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "cupy": getattr(cupy, "__version__", None),
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu_count": os.cpu_count(),
        **run,
    }

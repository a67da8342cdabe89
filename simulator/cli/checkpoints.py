"""The checkpoint file of ``infonce-sim run``: finished cells survive an interrupted sweep."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from simulator.cli.io import to_json
from simulator.studies.registry import MemoryStore


class FileCheckpointStore(MemoryStore):
    """Checkpoint store backed by an append-only JSON-lines file.

    Each finished cell is appended as one line (key, value and compute seconds) and flushed to
    disk, so an interrupted sweep loses at most the cell in flight. A torn last line (killed
    mid-write) is ignored on reload.
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
                self._seconds[entry["key"]] = float(entry.get("seconds", 0.0))

    def put(self, key: str, value: Any, seconds: float = 0.0) -> None:
        # Round-trip through JSON so a resumed run sees exactly what a fresh run saw.
        line = to_json({"key": key, "value": value, "seconds": seconds}, indent=None)
        self._cells[key] = json.loads(line)["value"]
        self._seconds[key] = seconds
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)

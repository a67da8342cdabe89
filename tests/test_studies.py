"""Every registered study: smoke run on its TINY config, one stream per cell across all studies,
and numbers that do not depend on which studies ran before (issue 8, items 2, 3 and 7)."""

from __future__ import annotations

import csv
import dataclasses
import importlib
import io
import json
import pickle
import re
import subprocess
import sys
import tracemalloc
from collections import Counter

import numpy as np
import pytest

from simulator.report import study_files, table_csv, undefined_symbols
from simulator.results import FINDING_VERDICTS, VERDICTS, StudyResult
from simulator.studies import STUDIES, RunContext
from simulator.studies.registry import SCALES, cell_seed_sequence, register


@dataclasses.dataclass
class RecordingContext(RunContext):
    """A run context that also records what each sweep hands to its cells."""

    shipped: list = dataclasses.field(default_factory=list)

    def map(self, compute, keys, config=None, *, desc=""):  # type: ignore[override]
        self.shipped.append((compute, config))
        return super().map(compute, keys, config, desc=desc)


@pytest.fixture(scope="module")
def tiny_runs() -> dict[str, tuple[StudyResult, list[str], list]]:
    """Each registered study run once on its TINY config: its result, its cell addresses and the
    (compute, config) pairs its sweeps shipped to cells."""
    out = {}
    for name, study in sorted(STUDIES.items()):
        ctx = RecordingContext(seed=11, config=study.tiny)
        out[name] = (study.run(ctx), ctx.addresses, ctx.shipped)
    return out


def test_every_study_declares_frozen_configs() -> None:
    for name, study in STUDIES.items():
        assert set(study.configs) == set(SCALES), name
        for config in (*study.configs.values(), study.tiny):
            assert dataclasses.is_dataclass(config), name
            assert type(config).__dataclass_params__.frozen, name


def test_smoke_every_study_on_its_tiny_config(tiny_runs: dict) -> None:
    for name, (result, addresses, _) in tiny_runs.items():
        study = STUDIES[name]
        assert result.study == name and addresses, name
        assert result.title == study.title and result.claims == list(study.claims), name
        assert result.rows, name
        for r in result.rows:
            allowed = VERDICTS if r["kind"] == "claim" else FINDING_VERDICTS
            assert r["verdict"] in allowed, (name, r["claim"])
        payload = json.loads(json.dumps(result.to_dict()))
        payload["provenance"] = {}
        # Every table renders; CSV cells come in the declared column order.
        files = study_files(payload)
        assert f"{name}.md" in files, name
        for table in payload["tables"].values():
            header, *body = csv.reader(io.StringIO(table_csv(table)))
            assert header == table["columns"] and len(body) == len(table["rows"]), name


def _streams(runs: dict[str, list[str]], seed: int) -> None:
    """Assert that no two cells of any studies share an address or a generator state."""
    cells = [(name, address) for name, addresses in runs.items() for address in addresses]
    duplicated = [c for c, n in Counter(cells).items() if n > 1]
    assert not duplicated, f"cells computed twice under one address: {duplicated[:5]}"
    sequences = [cell_seed_sequence(seed, name, tuple(json.loads(a))) for name, a in cells]
    spawn_keys = {s.spawn_key for s in sequences}
    states = {tuple(s.generate_state(4)) for s in sequences}
    assert len(spawn_keys) == len(cells)
    assert len(states) == len(cells)
    # Two studies never draw from one stream, whatever their cell keys.
    first = {name: cell_seed_sequence(seed, name, ("same",)).generate_state(4) for name in runs}
    assert len({tuple(v) for v in first.values()}) == len(first)


def test_no_two_cells_share_a_stream_tiny(tiny_runs: dict) -> None:
    _streams({name: addresses for name, (_, addresses, _) in tiny_runs.items()}, seed=11)


def test_cells_can_be_shipped_to_other_processes(tiny_runs: dict) -> None:
    # An executor pickles the compute function (by reference: module-level functions only) and
    # the config of every cell; a closure or a lambda would fail here.
    for name, (_, _, shipped) in tiny_runs.items():
        assert shipped, name
        for compute, config in shipped:
            assert pickle.loads(pickle.dumps(compute)) is compute, (name, compute)
            assert pickle.loads(pickle.dumps(config)) == config, (name, compute)


@pytest.mark.slow
def test_no_two_cells_share_a_stream_quick() -> None:
    runs = {}
    for name, study in sorted(STUDIES.items()):
        ctx = RunContext(scale="quick", seed=20260)
        study.run(ctx)
        runs[name] = ctx.addresses
    _streams(runs, seed=20260)


_REVERSED_RUN = """
import json, sys
from simulator.studies import STUDIES, RunContext
out = {}
for name in sys.argv[1:]:
    study = STUDIES[name]
    out[name] = study.run(RunContext(seed=11, config=study.tiny)).to_dict()
print(json.dumps(out))
"""


def _numbers(result: dict) -> dict:
    """A result without its run times (the 'seconds' column of the proofs timings)."""
    out = json.loads(json.dumps(result))
    for table in out["tables"].values():
        for row in table["rows"]:
            row.pop("seconds", None)
    return out


def test_numbers_do_not_depend_on_the_studies_run_before(tiny_runs: dict) -> None:
    # The fixture ran the studies in name order inside this test process; a fresh process runs
    # them in the reverse order, so every study follows a different set of studies in the two
    # runs (and the last of the name order runs first, alone, in the fresh process).
    names = sorted(STUDIES)
    proc = subprocess.run(
        [sys.executable, "-c", _REVERSED_RUN, *names[::-1]],
        capture_output=True,
        text=True,
        check=True,
    )
    backward = json.loads(proc.stdout)
    for name in names:
        forward = tiny_runs[name][0].to_dict()
        assert _numbers(forward) == _numbers(backward[name]), name


def test_register_checks_configs() -> None:
    @dataclasses.dataclass(frozen=True)
    class A:
        n: int = 1

    @dataclasses.dataclass(frozen=True)
    class B:
        n: int = 1

    with pytest.raises(ValueError, match="configs must cover the scales"):
        register("bad-a", "t", ("c",), configs={"quick": A()}, tiny=A())
    with pytest.raises(ValueError, match="share one type"):
        register("bad-b", "t", ("c",), configs={"quick": A(), "full": A()}, tiny=B())
    with pytest.raises(ValueError, match="frozen dataclasses"):
        register("bad-c", "t", ("c",), configs={"quick": {}, "full": {}}, tiny={})
    # Frozen dataclasses without a memory estimate.
    with pytest.raises(ValueError, match=r"configs must state memory_bytes\(\)"):
        register("bad-d", "t", ("c",), configs={"quick": A(), "full": A()}, tiny=A())
    assert not {"bad-a", "bad-b", "bad-c", "bad-d"} & set(STUDIES)


def test_a_study_refuses_a_config_of_another_study() -> None:
    study = STUDIES["test-calibration"]
    other = STUDIES["proofs"].tiny
    with pytest.raises(ValueError, match="config of study 'test-calibration' must be a Config"):
        study.run(RunContext(config=other))


def test_tiny_streams_are_seeded_per_cell() -> None:
    # The same cell key in two studies, or under two root seeds, gives different numbers.
    a = np.random.default_rng(cell_seed_sequence(1, "spherical-clt", ("mc", 1, 8, 0))).random()
    b = np.random.default_rng(cell_seed_sequence(1, "alignment-bound", ("mc", 1, 8, 0))).random()
    c = np.random.default_rng(cell_seed_sequence(2, "spherical-clt", ("mc", 1, 8, 0))).random()
    assert len({a, b, c}) == 3


@pytest.mark.parametrize(
    ("module", "changes", "match"),
    [
        ("spherical_clt", {"d_exact": (8, 16, 256, 512)}, "at least 3 dimensions d >= 256"),
        ("spherical_clt", {"d_mc": (64, 8)}, "d_mc must be increasing"),
        ("spherical_clt", {"d_radial": (8, 64)}, "d_radial must hold at least 3"),
        ("spherical_clt", {"k_mc": (1, 8)}, "1 <= k < min"),
        ("spherical_clt", {"n_mc": 1}, "n_mc"),
        ("test_calibration", {"columns": 0}, "columns"),
        ("test_calibration", {"n_grid": (4,)}, "n_grid must be increasing integers >= 8"),
        ("alignment_bound", {"channels": ("bsc", "nope")}, "channels must be among"),
    ],
)
def test_configs_refuse_inadmissible_values(module: str, changes: dict, match: str) -> None:
    mod = importlib.import_module(f"simulator.studies.{module}")
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(mod.TINY, **changes)


def test_every_table_cell_holds_one_value_and_symbols_are_defined(tiny_runs: dict) -> None:
    # Issue 9 item 13: no interval or list in a cell, no "0.95 [0.9, 1.0]" text cell, and every
    # symbol a table's columns use defined under it.
    for name, (result, _, _) in tiny_runs.items():
        for table_id, table in result.tables.items():
            for row in table["rows"]:
                for column, value in row.items():
                    assert not isinstance(value, list | tuple | dict), (name, table_id, column)
                    if isinstance(value, str):
                        assert not re.fullmatch(r"\S+ \[\S+, \S+\]", value), (name, column)
            assert not undefined_symbols(table), (name, table_id, undefined_symbols(table))


def _clear_caches() -> None:
    """Empty every ``functools`` cache of the package, so that a traced run recomputes what an
    earlier run cached (a cache hit would hide an allocation)."""
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in ("simulator", "proofs_check"):
            for obj in list(vars(module).values()):
                if callable(getattr(obj, "cache_clear", None)):
                    obj.cache_clear()


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_memory_estimate_bounds_the_traced_peak_on_tiny(name: str, tiny_runs: dict) -> None:
    """A config's ``memory_bytes()`` bounds the peak that ``tracemalloc`` (which counts NumPy's
    allocations) traces while the whole study runs serially on its TINY config: every cell and
    the study's own work between sweeps (issue 9, item 7).

    The estimates are derived from the config's sizes: the largest arrays alive at once (the
    samples and replicate blocks, training item sets, views and batch matrices, null blocks,
    the N x N logits) times a stated number of copies for temporaries, plus the fixed
    quadratures, bounded from their rules (Phi) or measured where they refine until converged
    (the Eq. 53 eta2, the proofs' checks); each config's docstring gives its terms. The
    ``tiny_runs`` fixture has run every study once already, so allocations made by imports on
    first use are not counted here (they are the per-process base of ``run``), and the
    package's caches are emptied so that nothing is served from them.
    """
    study = STUDIES[name]
    _clear_caches()
    tracemalloc.start()
    try:
        study.run(RunContext(seed=11, config=study.tiny))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= study.tiny.memory_bytes(), (name, peak)

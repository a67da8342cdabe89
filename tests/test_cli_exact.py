"""``infonce-sim exact`` at the edges of its range (issue 9 item 8): accurate or exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from simulator import cli


def test_exact_at_d_1e22_gives_the_leading_order(capsys: pytest.CaptureFixture) -> None:
    # Before the fix this exited with SciPy's "f(a) and f(b) must have different signs".
    # d*TV -> 0.35007503760372... for k = 1 (proofs_check rates.leading-order-derivation);
    # the next order is relative O(1/d), far below the tolerance here.
    assert cli.main(["exact", "--d", "1e22", "--k", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tv"] * 1e22 == pytest.approx(0.35007503760372, rel=1e-12)
    assert out["kl"] * 1e44 == pytest.approx(0.75, rel=1e-12)


def test_exact_k_close_to_d_has_no_warning(capsys: pytest.CaptureFixture) -> None:
    # Before the fix an IntegrationWarning escaped here (filterwarnings = error turns it into a
    # failure); the value is checked against mpmath in test_laws.py.
    assert cli.main(["exact", "--d", "100000", "--k", "99999", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tv"] == pytest.approx(0.98951628841, rel=1e-10)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--d", "1e101", "--k", "1"], "--d must be <= 1e100"),
        (["--d", "1e9", "--k", "200000000"], "--k must be <= 1e8"),
    ],
)
def test_exact_outside_the_verified_range_exits_2(args: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "simulator.cli", "exact", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert proc.stdout == ""

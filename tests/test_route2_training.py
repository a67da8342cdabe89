"""Study ``route2-training`` (issue 12 item 6) and section (d) of ``violations`` (item 5(d))."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator.contrastive.route2 import minimise_reduced_objective, vmf_profile
from simulator.sphere.vmf import log_normaliser, mean_resultant_length
from simulator.studies import RunContext, get_study
from simulator.studies import violations as vi
from simulator.studies.route2_training import TINY


@pytest.fixture(scope="module")
def tiny_result():
    return get_study("route2-training").run(RunContext(seed=3, config=TINY)).to_dict()


def test_tiny_study_tables_and_beta_to_zero(tiny_result: dict) -> None:
    levels = tiny_result["tables"]["levels"]["rows"]
    diffs = tiny_result["tables"]["paired-differences"]["rows"]
    n_beta = 1 + len(TINY.beta_factors)
    assert len(levels) == 2 * n_beta and len(diffs) == 2 * (n_beta - 1)
    for setting in ("laplace", "binary"):
        moves = {
            r["beta / beta0"]: r["relative embedding move"]
            for r in diffs
            if r["setting"] == setting
        }
        # Same seeds: only the O(beta) gradient term differs, so the final embeddings approach
        # the beta = 0 ones as beta -> 0.
        smallest, largest = min(moves), max(moves)
        assert 0.0 < moves[smallest] < moves[largest]
        # beta scales with beta0 > 0 for both settings.
        betas = [r["beta"] for r in levels if r["setting"] == setting]
        assert betas[0] == 0.0 and all(b > 0 for b in betas[1:])
    assert any("beta -> 0" in note for note in tiny_result["notes"])


@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_jq_optimum_at_the_ends_of_eta2(tau: float) -> None:
    # eta2 = 1: q = 0 and J_q = Phi, uniquely minimised by sigma (Lemma 2, Wang & Isola).
    # eta2 = 0: the point mass has J_q - J_q(sigma) = alpha - alpha - log Z_d(alpha) < 0,
    # so sigma is not the optimum.
    d = 16
    profile = vmf_profile(d, tau, np.geomspace(1e-2, 1e4, 31))
    assert minimise_reduced_objective(profile, 1.0, 0.0).kappa == 0.0
    weak = minimise_reduced_objective(profile, 0.0, 0.0)
    assert weak.kappa > 0.0
    assert weak.value <= -float(log_normaliser(d, 1.0 / tau)) + weak.error


def test_tilt_coordinate_along_the_mean_has_the_vmf_mean() -> None:
    # E[w.u] = A_d(kappa) for u ~ vMF(w, kappa): the column means of sqrt(d) u_1 estimate
    # sqrt(d) A_d(kappa).
    d, kappa = 8, 5.0
    cols = vi._tilt_columns(400, d, kappa, 30, np.random.default_rng(1), along_mean=True)
    x = cols.ravel()
    se = x.std(ddof=1) / math.sqrt(x.size)
    expected = math.sqrt(d) * float(mean_resultant_length(d, kappa))
    assert abs(x.mean() - expected) < 4 * se


def test_violations_augmentation_section_on_tiny() -> None:
    result = get_study("violations").run(RunContext(seed=5, config=vi.TINY)).to_dict()
    rows = result["tables"]["augmentation"]["rows"]
    assert len(rows) == len(vi.TINY.taus) * len(vi.TINY.eta2s)
    by_eta2 = {r["eta2"]: r for r in rows}
    assert by_eta2[0.99]["vMF optimum of J_q"] == "sigma"
    assert by_eta2[0.01]["vMF optimum of J_q"] != "sigma"
    assert any(n.startswith("Finding (augmentation strength") for n in result["notes"])

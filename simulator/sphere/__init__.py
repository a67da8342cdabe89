"""The uniform law sigma on S^{d-1} and its projections (Lemma 3, Theorem 2, Prop. 2).

Modules: :mod:`~simulator.sphere.sampling` (uniform and exact k-marginal samplers, random frames),
:mod:`~simulator.sphere.laws` (exact laws and exact distances to the Gaussian limit),
:mod:`~simulator.sphere.radial` (radial laws of unnormalised representations),
:mod:`~simulator.sphere.distances` (Monte Carlo distance estimators with uncertainty) and
:mod:`~simulator.sphere.vmf` (von Mises-Fisher laws).
"""

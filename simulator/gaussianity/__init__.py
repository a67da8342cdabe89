"""The paper's Gaussianity metrics (Eq. 20), their calibrated nulls, uniformity evidence and the
embedding audit.

Modules: :mod:`~simulator.gaussianity.metrics`, :mod:`~simulator.gaussianity.nulls`,
:mod:`~simulator.gaussianity.uniformity` and :mod:`~simulator.gaussianity.audit`.
"""

"""HGR maximal correlation (Eq. 21), augmentation channels, their mildness eta2 (Eq. 5) and the
Prop. 1 alignment bound (Eq. 6).

Modules: :mod:`~simulator.hgr.estimators` (exact, numeric and ACE estimators, the DPI),
:mod:`~simulator.hgr.channels` (channel definitions and samplers),
:mod:`~simulator.hgr.mildness` (eta2 of a channel and the views' check of Eq. 23) and
:mod:`~simulator.hgr.alignment` (Prop. 1).
"""

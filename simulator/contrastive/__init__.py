"""Contrastive learning: the InfoNCE loss (Eq. 2) and its population limit (Eq. 4).

Modules: :mod:`~simulator.contrastive.infonce`.
"""

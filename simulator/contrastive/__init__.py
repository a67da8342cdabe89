"""Contrastive learning: the InfoNCE loss (Eq. 2) and its population limit (Eq. 4), and training
on the paper's synthetic settings (Sec. 5, App. E.1).

Modules: :mod:`~simulator.contrastive.infonce` (losses and gradients),
:mod:`~simulator.contrastive.encoders`, :mod:`~simulator.contrastive.optim` (Adam),
:mod:`~simulator.contrastive.data` (synthetic settings) and :mod:`~simulator.contrastive.trainer`;
real images: :mod:`~simulator.contrastive.images`, :mod:`~simulator.contrastive.image_augment`,
the VICReg control :mod:`~simulator.contrastive.vicreg` and :mod:`~simulator.contrastive.probe`
(linear probe, eta2 lower bound).
"""

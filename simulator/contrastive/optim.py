"""Adam (Kingma & Ba 2015) with optional weight decay, on a ``dict`` of arrays in any namespace.

The paper trains with Adam at learning rate 1e-3 (App. E.1) and states no weight decay; both are
parameters here. ``weight_decay`` is coupled (added to the gradient, as ``torch.optim.Adam``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from simulator.validation import check_real

Params = dict[str, Any]


@dataclass
class Adam:
    """Adam optimiser state for one parameter dict.

    Attributes
    ----------
    lr : float
        Learning rate, ``lr > 0``.
    beta1, beta2 : float
        Moment decay rates in ``[0, 1)``.
    eps : float
        Denominator guard, ``eps > 0``.
    weight_decay : float
        L2 coefficient, ``>= 0``, added to the gradient (coupled, as in Kingma & Ba).
    """

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    steps: int = 0
    _m: dict[str, Any] = field(default_factory=dict, repr=False)
    _v: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        check_real("learning rate lr", self.lr, low=0.0, low_open=True)
        check_real("beta1", self.beta1, low=0.0, high=1.0, high_open=True)
        check_real("beta2", self.beta2, low=0.0, high=1.0, high_open=True)
        check_real("eps", self.eps, low=0.0, low_open=True)
        check_real("weight_decay", self.weight_decay, low=0.0)

    def step(self, params: Params, grads: Params) -> Params:
        """Return the updated parameters (new arrays) after one Adam step on ``grads``."""
        if set(grads) != set(params):
            raise ValueError(
                f"grads must have the keys of params {sorted(params)}, got {sorted(grads)}"
            )
        self.steps += 1
        t = self.steps
        # Bias corrections folded into the step size (Kingma & Ba 2015, end of Sec. 2).
        step = self.lr * math.sqrt(1.0 - self.beta2**t) / (1.0 - self.beta1**t)
        out = {}
        for name, w in params.items():
            g = grads[name]
            if self.weight_decay:
                g = g + self.weight_decay * w
            m = self._m.get(name)
            v = self._v.get(name)
            if m is None:
                m = (1.0 - self.beta1) * g
                v = (1.0 - self.beta2) * (g * g)
                self._m[name], self._v[name] = m, v
            else:
                # The moments are private state: updated in place, without temporaries.
                m *= self.beta1
                m += (1.0 - self.beta1) * g
                v *= self.beta2
                v += (1.0 - self.beta2) * (g * g)
            eps_hat = self.eps * math.sqrt(1.0 - self.beta2**t)
            denom = v**0.5
            denom += eps_hat
            out[name] = w - (step * m) / denom
        return out

"""The search's policy: a Gaussian over an unconstrained parameterization of (alpha, beta).

Tested alone, with made-up rewards: nothing here trains or scores a model.
"""

import numpy as np
import torch
from scipy.special import expit, logit, softmax

from ._setting import resolve_setting

__all__ = ["BETA_MAX", "SEARCHABLE", "GaussianPolicy", "Parameterization"]

#: Upper bound of a searched corruption rate: beta_k = BETA_MAX * sigmoid(v_k) < 1.
BETA_MAX = 0.9
#: What a search can learn.
SEARCHABLE = ("alpha", "corruption")
#: Floor of an initial alpha weight (or corruption ratio beta / BETA_MAX) before it is
#: mapped to the unconstrained scale, where 0 would be -inf.
_INIT_FLOOR = 0.01
_ADVANTAGE_EPS = 1e-8


class Parameterization:
    """The map between the policy's unconstrained theta and a setting (alpha, beta).

    theta holds ``u`` (alpha = softmax(u)) where alpha is searched, then ``v``
    (beta_k = BETA_MAX * sigmoid(v_k)) where corruption is; what is not searched stays at
    its initial value.
    """

    def __init__(self, initial, searched):
        self.names = list(initial.names)
        self.initial = initial
        self.searched = [name for name in SEARCHABLE if name in searched]

    def initial_mean(self):
        """theta of the initial setting (zero weights and rates floored at 0.01)."""
        parts = []
        if "alpha" in self.searched:
            u = np.log(np.maximum(self.initial.alpha, _INIT_FLOOR))
            parts.append(u - u.mean())
        if "corruption" in self.searched:
            ratio = np.array(self.initial.rates) / BETA_MAX
            parts.append(logit(np.clip(ratio, _INIT_FLOOR, 1 - _INIT_FLOOR)))
        return np.concatenate(parts)

    def decode(self, theta):
        """The :class:`~sktnce._setting.Setting` of ``theta``."""
        alpha, corruption = self.initial.alpha, self.initial.corruption
        offset = 0
        if "alpha" in self.searched:
            alpha = softmax(theta[:len(self.names) + 1])
            offset = len(self.names) + 1
        if "corruption" in self.searched:
            rates = BETA_MAX * expit(theta[offset:offset + len(self.names)])
            corruption = dict(zip(self.names, rates.tolist()))
        return resolve_setting(alpha, corruption, self.names)


class GaussianPolicy:
    """theta ~ N(mean, sigma^2 I), its mean moved by REINFORCE with Adam ascent.

    The gradient of the expected reward is estimated from one round's draws with the
    normalised advantage ``A_b = (R_b - mean R) / (std R + 1e-8)``:
    ``(1/B) sum_b A_b (theta_b - mean) / sigma^2``. torch's Adam takes the step, as in
    the authors' code.
    """

    def __init__(self, mean, *, sigma, learning_rate):
        self.sigma = float(sigma)
        self._mean = torch.tensor(np.asarray(mean, dtype=np.float64), requires_grad=True)
        self._optimizer = torch.optim.Adam([self._mean], lr=learning_rate, maximize=True)

    @property
    def mean(self):
        return self._mean.detach().numpy().copy()

    def sample(self, n_samples, rng):
        """``n_samples`` draws of theta, shape (n_samples, dim), from a NumPy generator."""
        return self.mean + self.sigma * rng.standard_normal((n_samples, len(self.mean)))

    def update(self, thetas, rewards):
        """One Adam ascent step of the mean from the draws ``thetas`` and their rewards."""
        rewards = np.asarray(rewards, dtype=np.float64)
        advantage = (rewards - rewards.mean()) / (rewards.std() + _ADVANTAGE_EPS)
        # grad_mean log N(theta_b; mean, sigma^2 I) = (theta_b - mean) / sigma^2
        gradient = (advantage[:, None] * (thetas - self.mean)).mean(axis=0) / self.sigma**2
        self._optimizer.zero_grad()
        self._mean.grad = torch.from_numpy(gradient)
        self._optimizer.step()

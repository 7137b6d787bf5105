"""One fit's setting (alpha and the corruption rates, resolved and checked) and its seeds."""

from numbers import Real
from typing import NamedTuple

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["FitSeeds", "Setting", "derive_seed", "resolve_alpha", "resolve_corruption",
           "resolve_setting"]


def resolve_alpha(alpha, names):
    """The normalised mixture weights, ordinary first, as a float64 array of length K + 1.

    Weights that already sum to 1 up to float rounding are kept as they are, so that
    resolving a resolved alpha (a search's result, set on an estimator) gives it back bit
    for bit on any CPU.
    """
    n_weights = len(names) + 1
    if isinstance(alpha, str):  # "uniform": the only string _parameter_constraints admits
        return np.full(n_weights, 1.0 / n_weights)
    if isinstance(alpha, dict):
        unknown = sorted(set(alpha) - {"ordinary", *names}, key=str)
        if unknown:
            raise ValueError(
                f"alpha has unknown keys {unknown}; use 'ordinary' and modality names "
                f"{list(names)}."
            )
        weights = [alpha.get(key, 0.0) for key in ["ordinary", *names]]
    else:
        weights = alpha
    try:
        weights = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"alpha must hold numbers; got {alpha!r}.") from None
    if weights.shape != (n_weights,):
        raise ValueError(
            f"alpha must have {n_weights} entries (ordinary, then one per modality "
            f"{list(names)}); got shape {weights.shape}."
        )
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError(f"alpha must be finite and non-negative; got {weights.tolist()}.")
    total = weights.sum()
    if total <= 0:
        raise ValueError("alpha must not be all zero.")
    # Dividing by a sum that rounding left a few ulps off 1 would move the weights by an
    # ulp, differently on CPUs that order the sum differently.
    if abs(total - 1.0) <= 4 * n_weights * np.finfo(np.float64).eps:
        return weights.copy()
    return weights / total


def resolve_corruption(corruption, names):
    """The corruption rate of each modality, as a dict in modality order."""
    if not isinstance(corruption, dict):
        return {name: float(corruption) for name in names}
    unknown = sorted(set(corruption) - set(names), key=str)
    if unknown:
        raise ValueError(f"corruption has unknown modality names {unknown}; known: {list(names)}.")
    absent = [name for name in names if name not in corruption]
    if absent:
        raise ValueError(f"corruption gives no rate for modalities {absent}.")
    rates = {}
    for name in names:
        rate = corruption[name]
        if not isinstance(rate, Real) or not 0 <= rate < 1:
            raise ValueError(
                f"corruption[{name!r}] must be a number in [0, 1); got {rate!r}."
            )
        rates[name] = float(rate)
    return rates


class Setting(NamedTuple):
    """alpha and beta of one fit, resolved: what the training module and the loss read."""

    #: Modality names, in order.
    names: tuple
    #: Mixture weights, ordinary first, float64, summing to 1.
    alpha: np.ndarray
    #: Corruption rate by modality name, in modality order.
    corruption: dict

    @property
    def alpha_by_name(self):
        """alpha as a dict keyed by ``"ordinary"`` and the modality names."""
        return dict(zip(["ordinary", *self.names], self.alpha.tolist()))

    @property
    def rates(self):
        """The corruption rates as a list in modality order."""
        return [self.corruption[name] for name in self.names]

    @property
    def disturbed_modalities(self):
        """Indices of the modalities whose disturbed negatives train: those weighed above 0.

        With one modality a disturbed tuple is another row, an ordinary negative again:
        none.
        """
        if len(self.names) < 2:
            return []
        return [k for k in range(len(self.names)) if self.alpha[k + 1] > 0]

    @property
    def criterion_alpha(self):
        """The loss's mixture weights: ordinary, then the disturbed modalities' only."""
        return np.concatenate([self.alpha[:1], self.alpha[1:][self.disturbed_modalities]])


def resolve_setting(alpha, corruption, names):
    """The :class:`Setting` of parameters ``alpha`` and ``corruption`` for ``names``."""
    names = tuple(names)
    return Setting(names, resolve_alpha(alpha, names), resolve_corruption(corruption, names))


class FitSeeds(NamedTuple):
    """The seeds of one fit, by purpose, drawn from its ``random_state``."""

    weights: int
    augment: int
    shuffle: int
    #: The evaluation's candidate sets and query augmentations (``score``).
    evaluation: int

    @classmethod
    def draw(cls, random_state):
        rng = check_random_state(random_state)
        return cls(*(int(s) for s in rng.randint(np.iinfo(np.int32).max, size=len(cls._fields))))


def derive_seed(*key):
    """A 31-bit seed derived from the integers ``key`` (base seed, purpose, round, ...)."""
    return int(np.random.SeedSequence([int(k) for k in key]).generate_state(1)[0] >> 1)

"""Generated multimodal data with a known structure."""

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["make_multimodal_classification"]


def make_multimodal_classification(
    n_samples=1000,
    *,
    n_features=(24, 12, 6),
    noise=(0.1, 0.3, 0.3),
    n_nuisance=(8, 2, 1),
    n_shared=3,
    synergy=True,
    random_state=None,
):
    """Three modalities of unequal strength, with a label that needs every one of them.

    Latent factors, one value per row:

    - ``shared``: ``n_shared`` factors seen by every modality (what lets one modality
      find the rest of its row); the label uses the first;
    - ``weak``: seen only by the ``weak`` modality;
    - ``u_strong`` and ``u_medium``: one in each of those modalities; only their
      combination (the sign of their product) bears on the label;
    - nuisance factors private to each modality, irrelevant to the label. The strong
      modality has many, at low noise: a contrastive encoder can tell rows apart from it
      alone, which is what tempts whole-tuple contrast to neglect the others.

    Each modality's features are a random linear mix of its factors plus Gaussian noise.
    The label has 8 classes: ``4 * [shared_0 > 0] + 2 * [weak > 0] + [u_strong * u_medium > 0]``
    (or 4 classes without the synergy bit).

    Parameters
    ----------
    n_samples : int, default=1000
    n_features : tuple of 3 int, default=(24, 12, 6)
        Columns of the strong, medium and weak modalities.
    noise : tuple of 3 float, default=(0.1, 0.3, 0.3)
        Standard deviation of the noise added to each modality's features.
    n_nuisance : tuple of 3 int, default=(8, 2, 1)
        Private nuisance factors of each modality.
    n_shared : int, default=3
        Factors that every modality sees.
    synergy : bool, default=True
        Whether the label has the bit that only the combination of modalities carries.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, sum(n_features))
    y : ndarray of shape (n_samples,)
    modalities : dict of str to list of int
        Column indices of the ``strong``, ``medium`` and ``weak`` modalities.

    Examples
    --------
    >>> from sktnce.datasets import make_multimodal_classification
    >>> X, y, modalities = make_multimodal_classification(n_samples=100, random_state=0)
    >>> X.shape, sorted(set(y)) == list(range(8)), list(modalities)
    ((100, 42), True, ['strong', 'medium', 'weak'])
    """
    if len(n_features) != 3 or len(noise) != 3 or len(n_nuisance) != 3:
        raise ValueError("n_features, noise and n_nuisance must each have 3 entries.")
    if n_shared < 1:
        raise ValueError(f"n_shared must be >= 1; got {n_shared}.")
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1; got {n_samples}.")
    rng = check_random_state(random_state)
    shared = list(rng.standard_normal((n_shared, n_samples)))
    weak, u_strong, u_medium = rng.standard_normal((3, n_samples))
    factors = {
        "strong": shared + [u_strong],
        "medium": shared + [u_medium],
        "weak": shared + [weak],
    }
    names = list(factors)
    blocks, columns, start = [], {}, 0
    for name, width, sd, n_private in zip(names, n_features, noise, n_nuisance):
        latent = np.column_stack(factors[name] + list(rng.standard_normal((n_private, n_samples))))
        mixing = rng.standard_normal((latent.shape[1], width)) / np.sqrt(latent.shape[1])
        blocks.append(latent @ mixing + sd * rng.standard_normal((n_samples, width)))
        columns[name] = list(range(start, start + width))
        start += width
    y = 2 * (shared[0] > 0) + (weak > 0)
    if synergy:
        y = 2 * y + (u_strong * u_medium > 0)
    return np.hstack(blocks), y.astype(np.int64), columns

"""A fit's setting: one normalisation of alpha, the disturbed modalities, seeds by purpose."""

import numpy as np
import pytest
from scipy.special import softmax

from sktnce._setting import FitSeeds, resolve_alpha, resolve_setting

NAMES = ["a", "b", "c"]


def test_resolving_a_resolved_alpha_gives_it_back_bit_for_bit():
    rng = np.random.default_rng(0)
    for _ in range(500):
        raw = rng.exponential(size=4)
        once = resolve_alpha(raw, NAMES)
        assert np.array_equal(resolve_alpha(once, NAMES), once)
        assert np.array_equal(resolve_alpha(dict(zip(["ordinary", *NAMES], once)), NAMES), once)
        # A softmax sums to 1 only up to rounding; its weights are kept as they are, so
        # every path that resolves it (the search, a refit, a user's fit) gets one alpha.
        weights = softmax(rng.normal(size=4))
        assert np.array_equal(resolve_alpha(weights, NAMES), weights)
        nudged = once + np.array([4, 0, 0, 0]) * np.finfo(np.float64).eps
        assert np.array_equal(resolve_alpha(nudged, NAMES), nudged)
    np.testing.assert_allclose(resolve_alpha([2, 1, 1, 0], NAMES), [0.5, 0.25, 0.25, 0])


def test_a_setting_names_what_the_loss_reads():
    setting = resolve_setting({"ordinary": 2, "b": 1, "c": 1}, {"a": 0.1, "b": 0.2, "c": 0.3},
                              NAMES)
    assert setting.alpha_by_name == {"ordinary": 0.5, "a": 0.0, "b": 0.25, "c": 0.25}
    assert setting.rates == [0.1, 0.2, 0.3]
    assert setting.disturbed_modalities == [1, 2]  # a weighs 0: no disturbed negatives
    np.testing.assert_array_equal(setting.criterion_alpha, [0.5, 0.25, 0.25])
    # With one modality a disturbed tuple is another row: none.
    assert resolve_setting("uniform", 0.3, ["only"]).disturbed_modalities == []
    with pytest.raises(ValueError, match="corruption gives no rate for modalities \\['c'\\]"):
        resolve_setting("uniform", {"a": 0.1, "b": 0.2}, NAMES)


def test_fit_seeds_are_drawn_by_purpose_from_random_state():
    seeds = FitSeeds.draw(0)
    assert seeds == FitSeeds.draw(0) and seeds != FitSeeds.draw(1)
    assert len(set(seeds)) == 4
    rng = np.random.RandomState(0)
    assert FitSeeds.draw(rng) == seeds and FitSeeds.draw(rng) != seeds  # a RandomState moves on

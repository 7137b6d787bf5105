"""The search's policy and parameterization, alone: made-up rewards, no estimator."""

import numpy as np
import pytest

from sktnce._policy import BETA_MAX, GaussianPolicy, Parameterization
from sktnce._setting import resolve_setting


def test_gaussian_policy_alone_climbs_a_made_up_reward():
    # No estimator: reward = -|theta - target|^2; the mean must walk to the target.
    target = np.array([1.5, -2.0, 0.5])
    policy = GaussianPolicy(np.zeros(3), sigma=0.5, learning_rate=0.1)
    rng = np.random.default_rng(0)
    for _ in range(150):
        thetas = policy.sample(8, rng)
        policy.update(thetas, -((thetas - target) ** 2).sum(axis=1))
    np.testing.assert_allclose(policy.mean, target, atol=0.3)


def test_gaussian_policy_step_is_adam_on_the_reinforce_gradient():
    policy = GaussianPolicy(np.zeros(2), sigma=2.0, learning_rate=0.25)
    thetas = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    policy.update(thetas, [3.0, 1.0, 2.0])
    # Adam's first step is lr * sign(gradient); the gradient's first entry is positive
    # (the better draw lies at +1), its second zero (advantage 0 at theta_2 = 1).
    np.testing.assert_allclose(policy.mean, [0.25, 0.0], atol=1e-6)
    assert policy.sample(4, np.random.default_rng(0)).shape == (4, 2)


@pytest.mark.parametrize("searched", [{"alpha"}, {"corruption"}, {"alpha", "corruption"}])
def test_parameterization_round_trips_the_initial_setting(searched):
    alpha = np.array([0.4, 0.3, 0.2, 0.1])
    corruption = {"a": 0.3, "b": 0.5, "c": 0.05}
    initial = resolve_setting(alpha, corruption, ["a", "b", "c"])
    parameterization = Parameterization(initial, searched)
    theta = parameterization.initial_mean()
    assert len(theta) == 4 * ("alpha" in searched) + 3 * ("corruption" in searched)
    decoded = parameterization.decode(theta)
    np.testing.assert_allclose(decoded.alpha, alpha)
    assert decoded.corruption == pytest.approx(corruption)
    moved = parameterization.decode(theta + 1.0)
    assert sum(moved.alpha) == pytest.approx(1.0)
    assert all(0 < rate < BETA_MAX for rate in moved.corruption.values())
    # What is not searched stays exactly at its initial value (decode passes it through).
    if "alpha" not in searched:
        assert np.array_equal(moved.alpha, initial.alpha)
    if "corruption" not in searched:
        assert moved.corruption == initial.corruption

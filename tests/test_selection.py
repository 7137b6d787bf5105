import numpy as np
import pytest

from sktnce._selection import greedy_selection, log_loss_of, reweighted


def _one_hot(codes, n_classes, confidence):
    """Probabilities that put ``confidence`` on ``codes`` and share the rest."""
    p = np.full((len(codes), n_classes), (1 - confidence) / (n_classes - 1))
    p[np.arange(len(codes)), codes] = confidence
    return p


def test_log_loss_is_the_mean_negative_log_probability_of_each_rows_class():
    p = np.array([[0.5, 0.5], [0.2, 0.8], [1.0, 0.0]])
    assert log_loss_of(p, np.array([0, 1, 0])) == pytest.approx(
        -(np.log(0.5) + np.log(0.8) + np.log(1.0)) / 3)
    # probability 0 on the true class: large but finite
    assert np.isfinite(log_loss_of(np.array([[0.0, 1.0]]), np.array([0])))


def test_the_better_member_takes_every_round_and_weights_sum_to_one():
    codes = np.array([0, 1, 2, 1, 0, 2])
    good, poor = _one_hot(codes, 3, 0.9), _one_hot((codes + 1) % 3, 3, 0.6)
    weights = greedy_selection(np.stack([poor, good]), codes, n_rounds=10)
    assert weights.tolist() == [0.0, 1.0]


def test_members_right_on_different_rows_are_blended():
    codes = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    first = _one_hot(codes, 2, 0.95)
    first[:4] = _one_hot(1 - codes[:4], 2, 0.95)  # wrong on the first half
    second = _one_hot(codes, 2, 0.95)
    second[4:] = _one_hot(1 - codes[4:], 2, 0.95)  # wrong on the second half
    weights = greedy_selection(np.stack([first, second]), codes, n_rounds=20)
    assert weights.tolist() == [0.5, 0.5]
    blend = (first + second) / 2
    assert log_loss_of(blend, codes) < min(log_loss_of(first, codes), log_loss_of(second, codes))


def test_weights_are_multiples_of_the_rounds_and_ties_go_to_the_earlier_member():
    codes = np.array([0, 1, 1, 0])
    same = _one_hot(codes, 2, 0.7)
    weights = greedy_selection(np.stack([same, same.copy(), _one_hot(1 - codes, 2, 0.7)]),
                               codes, n_rounds=7)
    assert weights.tolist() == [1.0, 0.0, 0.0]
    rng = np.random.default_rng(0)
    noisy = rng.dirichlet(np.ones(3), size=(4, 30))
    weights = greedy_selection(noisy, rng.integers(0, 3, 30), n_rounds=7)
    assert np.allclose(weights * 7, np.round(weights * 7)) and weights.sum() == pytest.approx(1)


def test_each_round_adds_the_member_that_lowers_the_blends_loss_most():
    rng = np.random.default_rng(1)
    probabilities = rng.dirichlet(np.ones(3), size=(5, 40))
    codes = rng.integers(0, 3, 40)
    n_rounds = 6
    weights = greedy_selection(probabilities, codes, n_rounds)
    # replayed by brute force
    chosen, total = [], np.zeros((40, 3))
    for round_ in range(1, n_rounds + 1):
        losses = [log_loss_of((total + p) / round_, codes) for p in probabilities]
        chosen.append(int(np.argmin(losses)))
        total += probabilities[chosen[-1]]
    assert np.array_equal(weights, np.bincount(chosen, minlength=5) / n_rounds)


def test_accuracy_selection_prefers_the_member_that_ranks_right_over_the_calibrated_prior():
    # The prior: calibrated, never right on the minority; the other: right, overconfident.
    codes = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    prior = np.tile([0.375, 0.625], (8, 1))
    sharp = _one_hot(codes, 2, 0.999)
    sharp[[0, 3]] = [[0.001, 0.999], [0.999, 0.001]]  # two costly misses
    assert log_loss_of(prior, codes) < log_loss_of(sharp, codes)
    assert _accuracy_of(prior, codes) < _accuracy_of(sharp, codes)
    both = np.stack([prior, sharp])
    # one round: the single best member by each score
    assert greedy_selection(both, codes, 1).tolist() == [1.0, 0.0]
    for scoring in ("accuracy", "balanced_accuracy"):
        assert greedy_selection(both, codes, 1, scoring=scoring).tolist() == [0.0, 1.0]


def _accuracy_of(p, codes):
    return np.mean(p.argmax(axis=1) == codes)


def test_balanced_accuracy_is_the_mean_of_the_classes_recalls():
    from sklearn.metrics import balanced_accuracy_score

    from sktnce._selection import SELECTION_SCORES

    rng = np.random.default_rng(2)
    p, codes = rng.dirichlet(np.ones(3), size=50), rng.integers(0, 3, 50)
    assert SELECTION_SCORES["balanced_accuracy"](p, codes) == pytest.approx(
        balanced_accuracy_score(codes, p.argmax(axis=1)))


def test_reweighted_multiplies_each_class_and_renormalises():
    p = np.array([[0.8, 0.2], [0.5, 0.5]])
    balanced = reweighted(p, np.array([0.5, 2.0]))
    np.testing.assert_allclose(balanced, [[0.5, 0.5], [0.2, 0.8]])
    assert reweighted(p, None) is p


@pytest.mark.parametrize("scoring", ["squared_error", "absolute_error"])
def test_regressors_predictions_are_weighed_by_their_error(scoring):
    rng = np.random.default_rng(0)
    target = rng.normal(size=200)
    high, low = target + 0.5, target - 0.5   # biased both ways: their mean is exact
    noisy = target + rng.normal(scale=2.0, size=200)
    weights = greedy_selection(np.stack([noisy, high, low]), target, 10, scoring)
    assert weights.tolist() == [0.0, 0.5, 0.5]


def _two_members(codes, first_wrong, second_wrong):
    """Two members 0.9 sure of each row's class but for the rows they get wrong, given as
    ``{row: the probability they give its class}``."""
    members = np.stack([_one_hot(codes, 2, 0.9), _one_hot(codes, 2, 0.9)])
    for member, wrong in zip(members, (first_wrong, second_wrong)):
        for row, probability in wrong.items():
            member[row] = _one_hot(codes[[row]], 2, probability)
    return members


@pytest.mark.parametrize("scoring", ["log_loss", "accuracy", "balanced_accuracy"])
def test_the_one_standard_error_rule_keeps_a_blend_that_wins_beyond_noise(scoring):
    codes = np.tile([0, 1], 30)
    # each member confidently wrong on a different third of the rows: their mean is right
    # on every row, each alone on two thirds
    members = _two_members(codes, dict.fromkeys(range(20), 0.3),
                           dict.fromkeys(range(20, 40), 0.3))
    greedy = greedy_selection(members, codes, 10, scoring)
    assert 0 < greedy[0] < 1
    assert greedy_selection(members, codes, 10, scoring,
                            "one_standard_error").tolist() == greedy.tolist()


def test_the_one_standard_error_rule_takes_the_best_member_where_the_gain_is_noise():
    codes = np.tile([0, 1], 30)
    # the blend fixes two rows (0, 1: the first member's narrow misses) and breaks one
    # (3: the first member's narrow hit, the second's confident miss): one row net of 60
    members = _two_members(codes, {0: 0.45, 1: 0.45, 3: 0.55}, {2: 0.45, 3: 0.1})
    greedy = greedy_selection(members, codes, 10, "accuracy")
    assert 0 < greedy[0] < 1
    best = greedy_selection(members, codes, 1, "accuracy")
    assert best.tolist() == [1.0, 0.0]  # level in accuracy, the lower log loss
    assert greedy_selection(members, codes, 10, "accuracy",
                            "one_standard_error").tolist() == [1.0, 0.0]


@pytest.mark.parametrize("seed", [0, 2])  # the blend kept (0), the best member alone (2)
def test_the_one_standard_error_rule_compares_row_by_row_in_the_score(seed):
    """By hand: the blend's gain per row over the best member, its mean against its standard
    error, for the balanced accuracy (each row's hit weighted by n / (K * its class's count))."""
    rng = np.random.default_rng(seed)
    codes = np.array([0] * 30 + [1] * 10)
    members = rng.dirichlet(np.ones(2), size=(3, 40))
    greedy = greedy_selection(members, codes, 8, "balanced_accuracy")
    best = greedy_selection(members, codes, 1, "balanced_accuracy")
    weight = np.where(codes == 0, 40 / (2 * 30), 40 / (2 * 10))

    def hits(p):
        return (p.argmax(axis=1) == codes) * weight

    gain = hits(np.tensordot(greedy, members, axes=1)) - hits(members[best.argmax()])
    keeps = gain.mean() > gain.std(ddof=1) / np.sqrt(40)
    assert keeps == (seed == 0)
    rule = greedy_selection(members, codes, 8, "balanced_accuracy", "one_standard_error")
    assert rule.tolist() == (greedy if keeps else best).tolist()
    assert hits(members[0]).mean() == pytest.approx(
        np.mean([(members[0].argmax(axis=1) == codes)[codes == c].mean() for c in (0, 1)]))


def test_the_one_standard_error_rule_on_regressors_predictions():
    target = np.linspace(0, 1, 50)
    rng = np.random.default_rng(0)
    low, high = target - 0.2 + rng.normal(0, 0.01, 50), target + 0.2 + rng.normal(0, 0.01, 50)
    greedy = greedy_selection(np.stack([low, high]), target, 10, "squared_error")
    assert greedy.tolist() == [0.5, 0.5]  # the mean cancels the two biases: far beyond noise
    assert greedy_selection(np.stack([low, high]), target, 10, "squared_error",
                            "one_standard_error").tolist() == [0.5, 0.5]


def test_an_unknown_selection_rule_is_refused():
    with pytest.raises(ValueError, match="selection must be one of"):
        greedy_selection(np.ones((1, 2, 2)) / 2, np.array([0, 1]), 1, selection="best")

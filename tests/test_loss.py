import math

import pytest
import torch
from torch.nn import functional as F

from sktnce import reconstruction_loss, tuple_infonce_loss
from sktnce._loss import _unchecked_reconstruction_loss


def _unit(*shape, seed):
    return F.normalize(torch.randn(*shape, generator=torch.Generator().manual_seed(seed)), dim=-1)


def _brute_force(anchor, positive, disturbed, alpha, temperature, mask=None):
    """The expectation form of METHOD.md, one anchor at a time, in float64."""
    anchor, positive, disturbed = anchor.double(), positive.double(), disturbed.double()
    alpha = torch.as_tensor(alpha, dtype=torch.float64)
    alpha = alpha / alpha.sum()
    n_rows = anchor.shape[0]
    n_disturbed, n_derangements = disturbed.shape[:2]
    losses = []
    for i in range(n_rows):
        s_pos = float(anchor[i] @ positive[i]) / temperature
        ordinary = [math.exp(float(anchor[i] @ positive[j]) / temperature)
                    for j in range(n_rows) if j != i]
        mixture = float(alpha[0]) * sum(ordinary) / len(ordinary)
        for k in range(n_disturbed):
            mean_k = sum(math.exp(float(anchor[i] @ disturbed[k, r, i]) / temperature)
                         for r in range(n_derangements)
                         if mask is None or mask[k, r, i]) / n_derangements
            mixture += float(alpha[k + 1]) * mean_k
        denominator = math.exp(s_pos) + (n_rows - 1) * mixture
        losses.append(-s_pos + math.log(denominator))
    return torch.tensor(losses, dtype=torch.float64)


def test_reduces_to_infonce_when_only_ordinary_negatives():
    anchor, positive = _unit(8, 5, seed=0), _unit(8, 5, seed=1)
    disturbed = _unit(2, 3, 8, 5, seed=2)
    loss = tuple_infonce_loss(anchor, positive, disturbed, [1.0, 0.0, 0.0], temperature=0.2)
    expected = F.cross_entropy(anchor @ positive.T / 0.2, torch.arange(8))
    torch.testing.assert_close(loss, expected)


@pytest.mark.parametrize("alpha", [[0.2, 0.5, 0.3], [0.0, 1.0, 3.0], [1.0, 1.0, 0.0]])
@pytest.mark.parametrize("n_derangements", [1, 3])
def test_matches_brute_force_expectation(alpha, n_derangements):
    anchor, positive = _unit(6, 4, seed=3), _unit(6, 4, seed=4)
    disturbed = _unit(2, n_derangements, 6, 4, seed=5)
    loss = tuple_infonce_loss(anchor, positive, disturbed, alpha, temperature=0.3,
                              reduction="none")
    expected = _brute_force(anchor, positive, disturbed, alpha, 0.3)
    torch.testing.assert_close(loss.double(), expected, rtol=1e-5, atol=1e-5)


def test_alpha_is_normalised():
    anchor, positive = _unit(5, 3, seed=6), _unit(5, 3, seed=7)
    disturbed = _unit(1, 2, 5, 3, seed=8)
    a = tuple_infonce_loss(anchor, positive, disturbed, [1.0, 3.0], temperature=0.1)
    b = tuple_infonce_loss(anchor, positive, disturbed, [0.25, 0.75], temperature=0.1)
    torch.testing.assert_close(a, b)


def test_disturbed_negatives_raise_the_loss_when_they_resemble_the_positive():
    anchor = _unit(6, 4, seed=9)
    positive = anchor.clone()
    far = _unit(6, 4, seed=10)
    # Disturbed tuples equal to the positive are the hardest negatives possible.
    hard = positive.expand(1, 1, 6, 4)
    plain = tuple_infonce_loss(anchor, positive, hard, [1.0, 0.0], temperature=0.1)
    mixed = tuple_infonce_loss(anchor, positive, hard, [0.5, 0.5], temperature=0.1)
    easy = tuple_infonce_loss(anchor, positive, far.expand(1, 1, 6, 4), [0.5, 0.5],
                              temperature=0.1)
    assert mixed > plain
    assert mixed > easy


def test_gradient_reaches_every_input_with_weight():
    anchor = _unit(6, 4, seed=11).requires_grad_()
    positive = _unit(6, 4, seed=12).requires_grad_()
    disturbed = _unit(2, 1, 6, 4, seed=13).requires_grad_()
    tuple_infonce_loss(anchor, positive, disturbed, [0.5, 0.5, 0.0], temperature=0.1).backward()
    assert anchor.grad.abs().sum() > 0 and positive.grad.abs().sum() > 0
    assert disturbed.grad[0].abs().sum() > 0
    # A zero weight drops those negatives exactly: no gradient, and no NaN either.
    assert torch.equal(disturbed.grad[1], torch.zeros_like(disturbed.grad[1]))


def test_no_disturbed_modalities():
    anchor, positive = _unit(4, 3, seed=14), _unit(4, 3, seed=15)
    loss = tuple_infonce_loss(anchor, positive, torch.empty(0, 1, 4, 3), [2.0], temperature=0.5)
    expected = F.cross_entropy(anchor @ positive.T / 0.5, torch.arange(4))
    torch.testing.assert_close(loss, expected)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"alpha": [1.0]}, "alpha must have 2 entries"),
        ({"alpha": [-1.0, 2.0]}, "non-negative"),
        ({"alpha": [0.0, 0.0]}, "not all zero"),
        ({"temperature": 0.0}, "temperature"),
        ({"reduction": "sum"}, "reduction"),
    ],
)
def test_bad_arguments(kwargs, message):
    anchor = _unit(4, 3, seed=16)
    arguments = {"alpha": [0.5, 0.5], "temperature": 0.1, **kwargs}
    with pytest.raises(ValueError, match=message):
        tuple_infonce_loss(anchor, anchor, anchor.expand(1, 1, 4, 3), **arguments)


def test_bad_shapes():
    anchor = _unit(4, 3, seed=17)
    with pytest.raises(ValueError, match="at least 2 rows"):
        tuple_infonce_loss(anchor[:1], anchor[:1], torch.empty(0, 1, 1, 3), [1.0], 0.1)
    with pytest.raises(ValueError, match="disturbed must have shape"):
        tuple_infonce_loss(anchor, anchor, torch.empty(1, 1, 3, 3), [1.0, 1.0], 0.1)
    with pytest.raises(ValueError, match="anchor and positive"):
        tuple_infonce_loss(anchor, anchor[:3], torch.empty(0, 1, 4, 3), [1.0], 0.1)


def test_masked_disturbed_negatives_leave_the_denominator():
    anchor, positive = _unit(6, 4, seed=0), _unit(6, 4, seed=1)
    disturbed = _unit(2, 3, 6, 4, seed=2)
    mask = torch.rand(2, 3, 6, generator=torch.Generator().manual_seed(3)) > 0.4
    loss = tuple_infonce_loss(anchor, positive, disturbed, [0.5, 0.3, 0.2], temperature=0.2,
                              disturbed_mask=mask, reduction="none")
    expected = _brute_force(anchor, positive, disturbed, [0.5, 0.3, 0.2], 0.2, mask=mask)
    torch.testing.assert_close(loss.double(), expected, rtol=1e-5, atol=1e-6)
    unmasked = tuple_infonce_loss(anchor, positive, disturbed, [0.5, 0.3, 0.2], temperature=0.2,
                                  reduction="none")
    assert (loss <= unmasked + 1e-6).all() and (loss < unmasked - 1e-4).any()
    with pytest.raises(ValueError, match="disturbed_mask"):
        tuple_infonce_loss(anchor, positive, disturbed, [0.5, 0.3, 0.2], temperature=0.2,
                           disturbed_mask=mask[:, :2])


# ------------------------------------------------------------------ reconstruction_loss
def _naive_reconstruction(reconstructed, target, widths, present):
    """Loop by modality: the mean squared error over the rows that hold it, then the mean."""
    errors, start = [], 0
    for k, width in enumerate(widths):
        rows = present[:, k]
        if rows.any():
            block = slice(start, start + width)
            errors.append(((reconstructed[rows, block] - target[rows, block]) ** 2).mean())
        start += width
    return torch.stack(errors).mean() if errors else torch.tensor(0.0)


def test_reconstruction_loss_weighs_every_modality_alike():
    gen = torch.Generator().manual_seed(0)
    target = torch.randn(10, 9, generator=gen)
    wrong_in_narrow = target.clone()
    wrong_in_narrow[:, 0] += 2.0  # the whole first modality (1 column) off by 2
    wrong_in_wide = target.clone()
    wrong_in_wide[:, 1:] += 2.0  # the whole second modality (8 columns) off by 2
    widths = [1, 8]
    # Mean squared error 4 in one modality of two: 2, whichever modality is wrong.
    assert float(reconstruction_loss(wrong_in_narrow, target, widths)) == pytest.approx(2.0)
    assert float(reconstruction_loss(wrong_in_wide, target, widths)) == pytest.approx(2.0)
    assert float(reconstruction_loss(target, target, widths)) == 0.0  # exact: x - x is 0


def test_reconstruction_loss_counts_only_rows_that_hold_the_modality():
    gen = torch.Generator().manual_seed(1)
    target, reconstructed = torch.randn(12, 6, generator=gen), torch.randn(12, 6, generator=gen)
    widths = [2, 3, 1]
    present = torch.rand(12, 3, generator=gen) > 0.3
    present[:, 2] = False  # no row holds the last modality: it leaves the mean
    loss = reconstruction_loss(reconstructed, target, widths, present=present)
    torch.testing.assert_close(loss, _naive_reconstruction(reconstructed, target, widths,
                                                           present))
    # What an absent modality's columns hold does not matter.
    scrambled = reconstructed.clone()
    scrambled[~present[:, 0], :2] = 100.0
    scrambled[:, 5] = -100.0
    torch.testing.assert_close(
        reconstruction_loss(scrambled, target, widths, present=present), loss)
    nothing = torch.zeros(12, 3, dtype=torch.bool)
    assert float(reconstruction_loss(reconstructed, target, widths, present=nothing)) == 0.0


def test_reconstruction_loss_maps_over_candidates_and_has_gradients():
    gen = torch.Generator().manual_seed(2)
    target = torch.randn(8, 5, generator=gen)
    reconstructed = torch.randn(3, 8, 5, generator=gen, requires_grad=True)
    present = torch.rand(8, 2, generator=gen) > 0.2
    mapped = torch.func.vmap(
        lambda r: _unchecked_reconstruction_loss(r, target, [2, 3], present))(reconstructed)
    for c in range(3):
        torch.testing.assert_close(
            mapped[c], reconstruction_loss(reconstructed[c], target, [2, 3], present=present))
    mapped.sum().backward()
    assert reconstructed.grad.abs().sum() > 0


@pytest.mark.parametrize("arguments, message", [
    ({"reconstructed": torch.zeros(4, 3), "block_widths": [1, 1]}, "sum to 3"),
    ({"reconstructed": torch.zeros(4, 3), "block_widths": [0, 3]}, "positive"),
    ({"reconstructed": torch.zeros(4, 2), "block_widths": [1, 2]}, "same shape|both have"),
    ({"reconstructed": torch.zeros(4, 3), "block_widths": [1, 2],
      "present": torch.ones(4, 3, dtype=torch.bool)}, "present must have shape"),
])
def test_reconstruction_loss_refuses_bad_shapes(arguments, message):
    arguments = dict(arguments)
    reconstructed = arguments.pop("reconstructed")
    widths = arguments.pop("block_widths")
    with pytest.raises(ValueError, match=message):
        reconstruction_loss(reconstructed, torch.zeros(4, 3), widths, **arguments)


def test_reconstruction_loss_measures_each_modality_in_its_unit():
    gen = torch.Generator().manual_seed(3)
    target, reconstructed = torch.randn(6, 5, generator=gen), torch.randn(6, 5, generator=gen)
    loss = reconstruction_loss(reconstructed, target, [2, 3])
    scaled = torch.cat([target[:, :2], 1e30 * target[:, 2:]], dim=1)
    scaled_reconstruction = torch.cat([reconstructed[:, :2], 1e30 * reconstructed[:, 2:]], dim=1)
    # The second block on a scale of 1e30, measured in that unit: the same loss, no overflow.
    torch.testing.assert_close(
        reconstruction_loss(scaled_reconstruction, scaled, [2, 3], scale=[1.0, 1e30]), loss)
    with pytest.raises(ValueError, match="scale must hold 2 positive"):
        reconstruction_loss(reconstructed, target, [2, 3], scale=[1.0, 0.0])


# --------------------------------------------------------------------------- supervised terms
def _brute_force_supcon(features, labels, temperature):
    """Khosla et al.'s L_out, one anchor at a time, in float64 (Python sums)."""
    f = features.double()
    losses = []
    for i in range(len(f)):
        others = [j for j in range(len(f)) if j != i]
        positives = [j for j in others if labels[j] == labels[i] and labels[i] != -1]
        if not positives:
            continue
        denominator = math.log(sum(math.exp(float(f[i] @ f[j]) / temperature) for j in others))
        losses.append(-sum(float(f[i] @ f[p]) / temperature - denominator
                           for p in positives) / len(positives))
    return sum(losses) / len(losses) if losses else 0.0


@pytest.mark.parametrize("seed", range(4))
def test_supervised_contrastive_loss_matches_brute_force(seed):
    from sktnce import supervised_contrastive_loss

    gen = torch.Generator().manual_seed(seed)
    features = F.normalize(torch.randn(12, 5, generator=gen), dim=1)
    labels = torch.randint(-1, 3, (12,), generator=gen)
    labels[0] = labels[1] = 2  # at least one anchor with a positive
    loss = supervised_contrastive_loss(features, labels, temperature=0.3)
    assert float(loss) == pytest.approx(_brute_force_supcon(features, labels, 0.3), rel=1e-5)


def test_supervised_contrastive_loss_without_positives_is_zero_and_has_no_nan():
    from sktnce import supervised_contrastive_loss

    features = F.normalize(torch.randn(5, 3, generator=torch.Generator().manual_seed(0)),
                           dim=1).requires_grad_()
    labels = torch.tensor([-1, 0, 1, 2, -1])  # no two rows share a label
    loss = supervised_contrastive_loss(features, labels, temperature=0.1)
    loss.backward()
    assert loss.item() == 0.0 and torch.isfinite(features.grad).all()
    per_anchor = supervised_contrastive_loss(features, labels, 0.1, reduction="none")
    assert per_anchor.shape == (5,)


def test_supervised_contrastive_loss_falls_as_classes_separate():
    from sktnce import supervised_contrastive_loss

    labels = torch.tensor([0, 0, 1, 1])
    mixed = F.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1], [0.1, 1.0]]), dim=1)
    separated = F.normalize(torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]]),
                            dim=1)
    assert supervised_contrastive_loss(separated, labels, 0.2) < \
        supervised_contrastive_loss(mixed, labels, 0.2)


def test_labelled_cross_entropy_matches_brute_force_and_skips_unlabelled_rows():
    from sktnce import labelled_cross_entropy

    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(10, 4, generator=gen)
    labels = torch.tensor([0, -1, 3, 2, -1, 1, 1, -1, 0, 2])
    expected = []
    for row, label in zip(logits.double(), labels.tolist()):
        if label != -1:
            expected.append(-(row[label] - torch.logsumexp(row, 0)).item())
    assert float(labelled_cross_entropy(logits, labels)) == pytest.approx(
        sum(expected) / len(expected), rel=1e-6)
    assert float(labelled_cross_entropy(logits, torch.full((10,), -1))) == 0.0


@pytest.mark.parametrize("call, message", [
    (lambda: __import__("sktnce").supervised_contrastive_loss(
        torch.zeros(3, 2), torch.zeros(4, dtype=torch.long), 0.1), "labels shape"),
    (lambda: __import__("sktnce").supervised_contrastive_loss(
        torch.zeros(3, 2), torch.zeros(3, dtype=torch.long), 0.0), "temperature"),
    (lambda: __import__("sktnce").labelled_cross_entropy(
        torch.zeros(3), torch.zeros(3, dtype=torch.long)), "logits must have shape"),
])
def test_supervised_terms_refuse_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_training_loss_adds_the_supervised_term_by_its_weight():
    from sktnce._loss import SupervisionTerm, training_loss
    from sktnce._network import TrainingOutputs

    gen = torch.Generator().manual_seed(0)
    z1, z2 = (F.normalize(torch.randn(6, 4, generator=gen), dim=1) for _ in range(2))
    empty = torch.empty(0, 1, 6, 4)
    mask = torch.empty(0, 1, 6, dtype=torch.bool)
    labels = torch.tensor([0, 1, -1, 0, 1, -1])
    logits = torch.randn(6, 2, generator=gen)
    outputs = TrainingOutputs(z1, z2, empty, empty, mask, mask, labels=labels,
                              logits1=logits, logits2=2 * logits)
    alpha = torch.tensor([1.0])
    plain = training_loss(outputs, alpha, 0.2)
    from sktnce import labelled_cross_entropy, supervised_contrastive_loss
    # each labelled row's term, summed over the batch's 6 rows and divided by 6: 4 of them
    # have a label, so the term is 4 / 6 of the labelled rows' mean
    ce = 0.5 * (labelled_cross_entropy(logits, labels) + labelled_cross_entropy(2 * logits,
                                                                                labels))
    with_ce = training_loss(outputs, alpha, 0.2,
                            supervision=SupervisionTerm("cross_entropy", 0.7))
    assert float(with_ce) == pytest.approx(float(plain + 0.7 * 4 / 6 * ce), rel=1e-6)
    # SupCon over the 12 stacked views: the 8 labelled anchors all have a positive
    supcon = supervised_contrastive_loss(torch.cat([z1, z2]), torch.cat([labels, labels]), 0.2)
    with_supcon = training_loss(outputs, alpha, 0.2, supervision=SupervisionTerm("supcon", 2.0))
    assert float(with_supcon) == pytest.approx(float(plain + 2.0 * 8 / 12 * supcon), rel=1e-6)


def test_labelled_squared_error_skips_rows_without_a_target_and_their_gradients():
    from sktnce import labelled_squared_error

    predictions = torch.tensor([1.0, 5.0, 2.0], requires_grad=True)
    targets = torch.tensor([0.0, float("nan"), 4.0])
    loss = labelled_squared_error(predictions, targets)
    assert float(loss) == pytest.approx((1.0 + 4.0) / 2)
    loss.backward()
    # the NaN row sends no gradient, and no NaN (masking after the difference would)
    assert predictions.grad.tolist() == [1.0, 0.0, -2.0]
    assert float(labelled_squared_error(predictions[:, None], targets)) == float(loss)
    assert float(labelled_squared_error(predictions, torch.full((3,), float("nan")))) == 0.0
    with pytest.raises(ValueError, match="shape"):
        labelled_squared_error(predictions, targets[:2])

import pytest
import torch

from sktnce._augment import corrupt, random_derangement


@pytest.mark.parametrize("n", [2, 3, 10, 257])
def test_derangement_is_a_permutation_without_fixed_points(n):
    gen = torch.Generator().manual_seed(n)
    for _ in range(20):
        perm = random_derangement(n, generator=gen)
        assert sorted(perm.tolist()) == list(range(n))
        assert not (perm == torch.arange(n)).any()


def test_derangement_reaches_every_other_row():
    gen = torch.Generator().manual_seed(0)
    targets = {random_derangement(5, generator=gen)[0].item() for _ in range(200)}
    assert targets == {1, 2, 3, 4}


def test_derangement_needs_two_rows():
    with pytest.raises(ValueError, match="n >= 2"):
        random_derangement(1)


def test_corruption_draws_from_other_rows_of_the_same_column():
    x = torch.arange(40.0).view(10, 4)  # every value unique, column j holds j mod 4
    before = x.clone()
    out = corrupt(x, 0.5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, before)
    # Exact: every entry of out is a copy of one of x's (torch.where over gathered donors).
    changed = out != x
    assert 0.2 < changed.float().mean() < 0.8
    assert torch.equal(out.long() % 4, x.long() % 4)  # same column
    assert torch.equal(torch.isin(out, x), torch.ones_like(changed))


def test_zero_rate_and_noise():
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(corrupt(x, 0.0), x)  # exact: rate 0 and no noise draw nothing
    noisy = corrupt(x, 0.0, noise=0.1, generator=torch.Generator().manual_seed(2))
    assert 0 < (noisy - x).abs().mean() < 0.3


def test_same_generator_seed_same_views():
    x = torch.randn(8, 5, generator=torch.Generator().manual_seed(3))
    a = corrupt(x, 0.3, noise=0.1, generator=torch.Generator().manual_seed(4))
    b = corrupt(x, 0.3, noise=0.1, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b)

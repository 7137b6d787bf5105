import numpy as np
import torch

from sktnce._discrimination import _candidate_sets, cross_modal_discrimination
from sktnce._network import TupleEncoder


def test_every_candidate_set_holds_exactly_the_chunk_size():
    order = np.random.default_rng(0).permutation(100)
    sets = _candidate_sets(order, 32, torch.Generator().manual_seed(0))
    assert [len(rows) for rows, _ in sets] == [32] * 4
    # Every row is a query exactly once; the filler rows of the last set only compete.
    queries = np.concatenate([rows[:n] for rows, n in sets])
    assert sorted(queries) == list(range(100))
    assert all(len(set(rows)) == len(rows) for rows, _ in sets)
    assert [len(rows) for rows, _ in _candidate_sets(np.arange(64), 32, None)] == [32, 32]
    assert [(len(rows), n) for rows, n in _candidate_sets(np.arange(10), 32, None)] == [(10, 10)]


def test_top1_chance_does_not_depend_on_the_number_of_rows():
    # An encoder that ignores its input ranks at chance: 1 / chunk_size, whatever n is.
    # With n // M sets of M to 2M - 1 rows, 50 rows among M = 32 gave chance 1/50.
    encoder = TupleEncoder([2, 2], embedding_dim=2, hidden_dim=2, n_layers=0,
                           n_components=2, projection_dim=2)
    with torch.no_grad():
        for parameter in encoder.parameters():
            parameter.zero_()
    missing = torch.zeros(50, 2, dtype=torch.bool)
    x = torch.randn(50, 4, generator=torch.Generator().manual_seed(0))
    _, log_prob = cross_modal_discrimination(
        encoder, x, missing, corruption=[0.0, 0.0], chunk_size=32, temperature=0.1,
        generator=torch.Generator().manual_seed(0))
    np.testing.assert_allclose(log_prob, np.log(1 / 32), rtol=1e-5)


def _identity_like_encoder():
    """An encoder whose single-modality query equals the key of the other modality."""
    torch.manual_seed(0)
    encoder = TupleEncoder([3, 3], embedding_dim=3, hidden_dim=3, n_layers=0, n_components=6,
                           projection_dim=6)
    with torch.no_grad():
        for module in encoder.modality_encoders:
            module[0].weight.copy_(torch.eye(3))
            module[0].bias.zero_()
        encoder.absent.zero_()
        # phi gives (s, -s) for the sum s of the embeddings (an absent one is zero), so that
        # psi's ReLU loses nothing; psi is the identity after it.
        summed = torch.cat([torch.eye(3), torch.eye(3)], 1)
        encoder.fusion_head[0].weight.copy_(torch.cat([summed, -summed]))
        encoder.fusion_head[0].bias.zero_()
        encoder.projection_head[1].weight.copy_(torch.eye(6))
        encoder.projection_head[1].bias.zero_()
    return encoder


def test_perfectly_shared_modalities_are_retrieved():
    encoder = _identity_like_encoder()
    gen = torch.Generator().manual_seed(0)
    shared = torch.randn(64, 3, generator=gen)
    x = torch.cat([shared, shared], dim=1)
    missing = torch.zeros(64, 2, dtype=torch.bool)
    accuracy, log_prob = cross_modal_discrimination(
        encoder, x, missing, corruption=[0.0, 0.0], chunk_size=16, temperature=0.01,
        generator=gen)
    assert (accuracy == 1.0).all()  # exact: hits / counted with every query a hit
    assert (log_prob > -0.1).all()
    unrelated = torch.cat([shared, torch.randn(64, 3, generator=gen)], dim=1)
    accuracy, log_prob = cross_modal_discrimination(
        encoder, unrelated, missing, corruption=[0.0, 0.0], chunk_size=16, temperature=0.01,
        generator=gen)
    assert (accuracy < 0.4).all()


def test_rows_missing_the_modality_are_not_queries():
    encoder = _identity_like_encoder()
    x = torch.randn(8, 6, generator=torch.Generator().manual_seed(1))
    missing = torch.zeros(8, 2, dtype=torch.bool)
    missing[:, 1] = True
    accuracy, _ = cross_modal_discrimination(
        encoder, x, missing, corruption=[0.0, 0.0], chunk_size=4, temperature=0.1,
        generator=torch.Generator().manual_seed(0))
    assert np.isnan(accuracy[1]) and not np.isnan(accuracy[0])

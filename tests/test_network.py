import pytest
import torch

from sktnce._loss import ReconstructionTerm
from sktnce._network import TupleEncoder, TupleInfoNCEModule
from sktnce._skorch import TupleInfoNCECriterion

DIMS = [5, 3, 2]


def _encoder(seed=0, n_layers=1):
    torch.manual_seed(seed)
    return TupleEncoder(DIMS, embedding_dim=4, hidden_dim=8, n_layers=n_layers, n_components=6,
                        projection_dim=5)


def _batch(n=12, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, sum(DIMS), generator=gen), torch.zeros(n, len(DIMS), dtype=torch.bool)


@pytest.mark.parametrize("n_layers", [0, 1, 2])
def test_fuse_with_swaps_equals_fusing_recombined_tuples(n_layers):
    encoder = _encoder(n_layers=n_layers)
    x, missing = _batch()
    embeddings = encoder.embed(encoder.blocks(x), missing)
    perm = torch.roll(torch.arange(12), 1)
    swaps = [(0, perm), (2, perm.flip(0))]
    fast = encoder.fuse_with_swaps(embeddings, swaps)
    assert fast.shape == (3, 12, 6)
    torch.testing.assert_close(fast[0], encoder.fuse(embeddings), rtol=1e-5, atol=1e-6)
    for out, (k, p) in zip(fast[1:], swaps):
        naive = embeddings.clone()
        naive[:, k] = embeddings[p, k]
        torch.testing.assert_close(out, encoder.fuse(naive), rtol=1e-5, atol=1e-6)


def test_encoders_run_once_per_view_whatever_the_negatives():
    encoder = _encoder()
    calls = [0] * len(DIMS)
    for k, module in enumerate(encoder.modality_encoders):
        module.register_forward_hook(lambda *_, k=k: calls.__setitem__(k, calls[k] + 1))
    module = TupleInfoNCEModule(encoder, corruption=[0.2] * 3, disturbed_modalities=[0, 1, 2],
                                n_derangements=4, modality_dropout=0.1, noise=0.0, seed=0)
    outputs = module(*_batch())
    d1, d2 = outputs.disturbed1, outputs.disturbed2
    assert outputs.reconstructed1 is None and outputs.target is None  # no decoder
    assert calls == [2, 2, 2]
    assert d1.shape == d2.shape == (3, 4, 12, 5)
    assert outputs.mask1.shape == outputs.mask2.shape == (3, 4, 12)
    torch.testing.assert_close(outputs.z1.norm(dim=1), torch.ones(12))


def test_absent_embedding_replaces_a_missing_modality():
    encoder = _encoder()
    x, missing = _batch()
    missing[:, 1] = True
    embeddings = encoder.embed(encoder.blocks(x), missing)
    # Exact: torch.where copies the absent embedding in, and the missing block's values
    # never reach the output.
    assert torch.equal(embeddings[:, 1], encoder.absent[1].expand(12, -1))
    x2 = x.clone()
    x2[:, 5:8] = 100.0
    assert torch.equal(encoder(x, missing), encoder(x2, missing))


def test_gradient_reaches_modality_encoder_through_its_disturbed_negatives():
    x, missing = _batch()
    for k in range(len(DIMS)):
        encoder = _encoder()
        module = TupleInfoNCEModule(encoder, corruption=[0.2] * 3, disturbed_modalities=[k],
                                    n_derangements=2, modality_dropout=0.0, noise=0.0, seed=k)
        # Only disturbed negatives of modality k: the loss can only be lowered by using it.
        criterion = TupleInfoNCECriterion([0.0, 1.0], temperature=0.1)
        criterion(module(x, missing)).backward()
        grad = sum(p.grad.abs().sum() for p in encoder.modality_encoders[k].parameters())
        assert grad > 0


def test_modality_dropout_never_empties_a_row():
    encoder = _encoder()
    module = TupleInfoNCEModule(encoder, corruption=[0.0] * 3, disturbed_modalities=[],
                                n_derangements=1, modality_dropout=0.9, noise=0.0, seed=0)
    x, missing = _batch(n=200)
    missing[:, 0] = True  # modality 0 is missing everywhere in the data
    embeddings, _ = module._view(encoder.blocks(x), missing, dropout=True)
    absent = (embeddings == encoder.absent.unsqueeze(0)).all(dim=-1)
    assert absent[:, 0].all()
    assert not absent.all(dim=1).any()
    assert absent[:, 1:].any()


@pytest.mark.parametrize("partial_share", [0.0, 0.9])
def test_module_pickles_without_its_generator(partial_share):
    import pickle

    module = TupleInfoNCEModule(_encoder(), corruption=[0.1] * 3, disturbed_modalities=[0],
                                n_derangements=1, modality_dropout=0.1, noise=0.0, seed=3,
                                partial_share=partial_share)
    x, missing = _batch()
    missing[:4, 1] = True  # a partial batch over modality 1 keeps fewer rows
    first = [module(x, missing)[0] for _ in range(3)]
    restored = pickle.loads(pickle.dumps(module))
    assert restored._generator is None and restored._kind_generator is None
    # The restored generators start again from the seed: the same first views and kinds.
    for expected in first:
        torch.testing.assert_close(restored(x, missing)[0], expected)


def test_a_disturbed_tuple_equal_to_its_positive_is_masked():
    # Modality 1 is absent in rows 0-5: a 1-disturbed tuple of such a row whose donor lacks
    # it too is the positive itself (measured: identical z), and must leave the loss.
    encoder = _encoder()
    module = TupleInfoNCEModule(encoder, corruption=[0.0] * 3, disturbed_modalities=[0, 1],
                                n_derangements=3, modality_dropout=0.0, noise=0.0, seed=0)
    x, missing = _batch()
    missing[:6, 1] = True
    embeddings = encoder.embed(encoder.blocks(x), missing)
    z, disturbed, mask = module._project_with_disturbed(embeddings, missing)
    same = (disturbed - z).abs().amax(dim=-1) < 1e-6
    assert same[1].any()  # the case occurs in this batch
    assert torch.equal(mask[1], ~same[1])
    assert mask[0].all()  # modality 0 is everywhere present: every swap is a real negative


def test_a_row_holding_one_modality_has_no_disturbed_negatives():
    encoder = _encoder()
    module = TupleInfoNCEModule(encoder, corruption=[0.0] * 3, disturbed_modalities=[0, 1, 2],
                                n_derangements=1, modality_dropout=0.0, noise=0.0, seed=0)
    x, missing = _batch()
    only_first = missing.clone()
    only_first[:, 1:] = True
    _, _, mask = module._project_with_disturbed(
        encoder.embed(encoder.blocks(x), only_first), only_first)
    assert not mask.any()


def test_partial_batches_follow_the_three_kinds():
    module = TupleInfoNCEModule(_encoder(), corruption=[0.0] * 3, disturbed_modalities=[0, 1, 2],
                                n_derangements=1, modality_dropout=0.0, noise=0.0, seed=0,
                                partial_share=0.6)
    _, missing = _batch()
    kinds = {"full": 0, "cross": 0, "self": 0}
    for _ in range(600):
        absent1, absent2, keep, _ = module._batch_plan(missing)
        if keep is None:
            assert torch.equal(absent1, missing) and torch.equal(absent2, missing)
            kinds["full"] += 1
            continue
        held1 = (~absent1).sum(dim=1)
        assert (held1 == 1).all()  # one modality alone
        k = int((~absent1[0]).nonzero())
        if torch.equal(absent1, absent2):
            kinds["self"] += 1
        else:
            assert torch.equal(~absent2, ~missing & ~torch.eye(3, dtype=torch.bool)[k])
            kinds["cross"] += 1
    assert 0.35 < kinds["full"] / 600 < 0.45
    assert abs(kinds["cross"] - kinds["self"]) < 60


def test_partial_batches_keep_only_rows_that_hold_the_modality():
    encoder = _encoder()
    module = TupleInfoNCEModule(encoder, corruption=[0.0] * 3, disturbed_modalities=[0, 1, 2],
                                n_derangements=1, modality_dropout=0.0, noise=0.0, seed=1,
                                partial_share=1.0)
    x, missing = _batch(n=40)
    missing[:10, :] = True
    missing[:10, 0] = False  # rows 0-9 hold modality 0 only
    sizes = {len(module(x, missing)[0]) for _ in range(30)}
    # Modality 0 against itself keeps all 40 rows; against the rest, or 1 or 2 alone, 30.
    assert sizes == {30, 40}


def test_the_decoder_leaves_every_other_initial_weight_as_it_was():
    torch.manual_seed(3)
    plain = TupleEncoder(DIMS, embedding_dim=4, hidden_dim=8, n_layers=1, n_components=6,
                         projection_dim=5)
    torch.manual_seed(3)
    decoding = TupleEncoder(DIMS, embedding_dim=4, hidden_dim=8, n_layers=1, n_components=6,
                            projection_dim=5, reconstruct=True)
    assert plain.decoder is None
    assert set(decoding.state_dict()) - set(plain.state_dict()) == {"decoder.weight",
                                                                  "decoder.bias"}
    for name, value in plain.state_dict().items():  # exact: the same seed, the same draws
        assert torch.equal(decoding.state_dict()[name], value)


@pytest.mark.parametrize("partial_share", [0.0, 1.0])
def test_with_a_decoder_the_module_returns_each_views_reconstruction(partial_share):
    torch.manual_seed(0)
    encoder = TupleEncoder(DIMS, embedding_dim=4, hidden_dim=8, n_layers=1, n_components=6,
                           projection_dim=5, reconstruct=True)
    module = TupleInfoNCEModule(encoder, corruption=[0.2] * 3, disturbed_modalities=[0, 1, 2],
                                n_derangements=1, modality_dropout=0.3, noise=0.0, seed=0,
                                partial_share=partial_share)
    x, missing = _batch(n=40)
    missing[:10, 1:] = True  # rows 0-9 hold modality 0 only
    for _ in range(5):
        outputs = module(x, missing)
        assert outputs.labels is None and outputs.logits1 is None  # no labels, no head
        z1, target, present = outputs.z1, outputs.target, outputs.present
        reconstructed1, reconstructed2 = outputs.reconstructed1, outputs.reconstructed2
        n_rows = len(z1)
        assert reconstructed1.shape == reconstructed2.shape == (n_rows, sum(DIMS))
        assert not torch.equal(reconstructed1, reconstructed2)  # two different views
        # The target is the clean rows the batch kept, and which modalities they hold.
        kept = [i for i in range(40) if any(torch.equal(target[j], x[i])
                                            for j in range(n_rows))]
        assert len(kept) == n_rows
        torch.testing.assert_close(present, ~missing[kept])
    criterion = TupleInfoNCECriterion([0.25] * 4, 0.1,
                                      reconstruction=ReconstructionTerm(2.0, DIMS))
    contrast_only = TupleInfoNCECriterion([0.25] * 4, 0.1)
    # The term adds to the contrast, and trains the decoder.
    assert criterion(outputs) > contrast_only(outputs)
    criterion(outputs).backward()
    assert encoder.decoder.weight.grad.abs().sum() > 0


def test_the_classifier_head_leaves_every_other_initial_weight_as_it_was():
    torch.manual_seed(3)
    plain = TupleEncoder(DIMS, embedding_dim=4, hidden_dim=8, n_layers=1, n_components=6,
                         projection_dim=5, reconstruct=True)
    torch.manual_seed(3)
    classifying = TupleEncoder(DIMS, embedding_dim=4, hidden_dim=8, n_layers=1,
                               n_components=6, projection_dim=5, reconstruct=True, n_classes=3)
    assert set(classifying.state_dict()) - set(plain.state_dict()) == {"classifier.weight",
                                                                     "classifier.bias"}
    for name, value in plain.state_dict().items():  # exact: the same seed, the same draws
        assert torch.equal(classifying.state_dict()[name], value)


@pytest.mark.parametrize("partial_share", [0.0, 1.0])
def test_with_labels_the_module_returns_each_views_logits_and_the_kept_rows_labels(
        partial_share):
    torch.manual_seed(0)
    encoder = TupleEncoder(DIMS, embedding_dim=4, hidden_dim=8, n_layers=1, n_components=6,
                           projection_dim=5, reconstruct=True, n_classes=3)
    module = TupleInfoNCEModule(encoder, corruption=[0.2] * 3, disturbed_modalities=[0, 1, 2],
                                n_derangements=1, modality_dropout=0.3, noise=0.0, seed=0,
                                partial_share=partial_share)
    x, missing = _batch(n=40)
    missing[:10, 1:] = True
    # each row's label is its own index, so the kept rows can be read off the labels
    labels = torch.arange(40)
    for _ in range(5):
        outputs = module(x, missing, labels=labels)
        assert outputs.logits1.shape == outputs.logits2.shape == (len(outputs.z1), 3)
        assert torch.equal(outputs.target, x[outputs.labels])  # the labels of the kept rows

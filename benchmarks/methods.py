"""The representations compared in the benchmarks, each a scikit-learn transformer factory.

Every factory takes the data set's modality specification and returns an unfitted
transformer that learns without labels, or, for the models that learn from the labelled rows
(``supervised_mlp``, ``gradient_boosting``, ``self_training``, ``tuple_infonce_classifier``),
an unfitted classifier.
"""

import numpy as np
import torch
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import SelfTrainingClassifier
from sklearn.utils.validation import check_is_fitted

from sktnce import (
    TupleInfoNCEClassifier,
    TupleInfoNCEFusion,
    TupleInfoNCESearch,
    tuple_infonce_loss,
)
from sktnce._augment import corrupt
from sktnce._discrimination import score_cross_modal
from sktnce._ensemble import default_members
from sktnce._modalities import encode_input
from sktnce._network import TupleInfoNCEModule

N_COMPONENTS = 32


def _columns(modalities, transform=None):
    """A ColumnTransformer applying each modality's preprocessing (then ``transform``)."""
    steps = []
    for name, transformer, columns in modalities:
        transformer = clone(transformer) if transformer != "passthrough" else "passthrough"
        if transform is not None:
            transformer = make_pipeline(transformer, clone(transform)) if transformer != \
                "passthrough" else clone(transform)
        steps.append((name, transformer, columns))
    return ColumnTransformer(steps, sparse_threshold=0)


def raw(modalities, **_):
    """Every modality's preprocessed block, concatenated and standardised."""
    return make_pipeline(_columns(modalities), StandardScaler())


def pca(modalities, **_):
    """PCA of the standardised raw features to the fused embedding's width."""
    return make_pipeline(_columns(modalities), StandardScaler(),
                         _CappedPCA(N_COMPONENTS, random_state=0))


def per_modality_pca(modalities, **_):
    """PCA within each modality, to an equal share of the width, concatenated."""
    share = max(1, N_COMPONENTS // len(modalities))
    return make_pipeline(_columns(modalities, _CappedPCA(share, random_state=0)),
                         StandardScaler())


class _CappedPCA(PCA):
    """PCA that keeps at most as many components as the block has columns."""

    def fit_transform(self, X, y=None):
        n_components = self.n_components
        self.n_components = min(n_components, X.shape[1], X.shape[0])
        try:
            return super().fit_transform(X, y)
        finally:
            self.n_components = n_components

    def fit(self, X, y=None):
        self.fit_transform(X, y)
        return self


def tuple_contrast(modalities, **params):
    """Whole-tuple contrast: TupleInfoNCE with ordinary negatives only."""
    return TupleInfoNCEFusion(**{"modalities": modalities, "n_components": N_COMPONENTS,
                                 **params, "alpha": [1.0] + [0.0] * len(modalities)})


def tuple_infonce(modalities, **params):
    return TupleInfoNCEFusion(**{"modalities": modalities, "n_components": N_COMPONENTS,
                                 **params})


def tuple_infonce_searched(modalities, search=None, **params):
    search = search or {}
    return TupleInfoNCESearch(tuple_infonce(modalities, **params), **search)


# --------------------------------------------------------------------------- CMC
class CrossModalModule(TupleInfoNCEModule):
    """CMC on the library's encoder: z of every modality alone, shape (K, B, D)."""

    def forward(self, x, missing):
        blocks = self.encoder.blocks(x)
        gen = self.generator
        augmented = [corrupt(b, rate, noise=self.noise, generator=gen)
                     for b, rate in zip(blocks, self.corruption)]
        n_modalities = missing.shape[1]
        views = []
        for k in range(n_modalities):
            absent = torch.ones_like(missing)
            absent[:, k] = missing[:, k]
            views.append(self.encoder.project(self.encoder.fuse(
                self.encoder.embed(augmented, absent))))
        return torch.stack(views)


class CrossModalCriterion(torch.nn.Module):
    """InfoNCE between every ordered pair of modalities' embeddings of the same rows."""

    def __init__(self, alpha, temperature, reconstruction=None, supervision=None):
        # The reconstruction and supervised terms are TupleInfoNCE's: CMC is trained on its
        # own loss.
        del reconstruction, supervision
        super().__init__()
        self.temperature = float(temperature)

    def forward(self, views):
        n_modalities, n_rows, width = views.shape
        no_disturbed = views.new_empty(0, 1, n_rows, width)
        losses = [tuple_infonce_loss(views[k], views[j], no_disturbed, [1.0], self.temperature)
                  for k in range(n_modalities) for j in range(n_modalities) if j != k]
        return torch.stack(losses).mean()


class CrossModalFusion(TupleInfoNCEFusion):
    """CMC-style baseline: modalities contrasted against each other, never as a tuple.

    The representation is the mean of the representations of each modality alone (the
    inputs CMC trains on), so it has the same width as the fused ones.
    """

    _training_module = CrossModalModule
    _criterion = CrossModalCriterion

    def transform(self, X):
        check_is_fitted(self)
        encoder = self.net_.module_.encoder
        features, missing = _encoded(self, X)
        with torch.inference_mode():
            outputs = []
            for k in range(missing.shape[1]):
                absent = torch.ones_like(missing)
                absent[:, k] = missing[:, k]
                outputs.append(encoder(features, absent))
        return torch.stack(outputs).mean(dim=0).cpu().numpy()


def _encoded(fusion, X):
    """``X`` as a fitted fusion's network input, through its state hook."""
    state = fusion._get_state()
    return encode_input(fusion, state.preprocessing, X,
                        state.training.net.module_.encoder.absent.device)


def cross_modal_scores(fusion, X, seed):
    """A fitted fusion's cross-modal ``(accuracy, log_prob)`` on ``X``, per modality, with
    the candidate sets and query augmentations drawn from ``seed``."""
    return score_cross_modal(fusion, _encoded(fusion, X), seed=seed)


def cross_modal_contrast(modalities, **params):
    return CrossModalFusion(modalities=modalities, n_components=N_COMPONENTS, **params)


# --------------------------------------------------------------------------- levers
# Levers from the literature, as benchmark variants of the library's training module (a
# bench_defaults setting {'variant': ...}): each swaps one piece of it.
class PeriodicEmbedding(torch.nn.Module):
    """Periodic numeric embeddings, the "PLR (lite)" of Gorishniy et al. (2022): every
    column ``x_j`` becomes ``ReLU(W [cos(2 pi c_j x_j), sin(2 pi c_j x_j)])``, with
    trainable frequencies ``c_j`` drawn from N(0, sigma^2) and ``W`` shared by the columns."""

    def __init__(self, n_features, *, n_frequencies=16, sigma=0.1, width=8):
        super().__init__()
        self.frequencies = torch.nn.Parameter(sigma * torch.randn(n_features, n_frequencies))
        self.linear = torch.nn.Linear(2 * n_frequencies, width)

    def forward(self, x):
        angles = 2 * np.pi * self.frequencies * x.unsqueeze(-1)
        features = torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)
        return torch.relu(self.linear(features)).flatten(-2)


class PeriodicModule(TupleInfoNCEModule):
    """The training module with a periodic embedding before every modality encoder."""

    sigma = 0.1
    width = 8

    def __init__(self, encoder, **params):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(params["seed"])
            for k, d in enumerate(encoder.input_dims):
                mlp = encoder.modality_encoders[k]
                first = mlp[0]
                mlp[0] = torch.nn.Linear(d * self.width, first.out_features)
                encoder.modality_encoders[k] = torch.nn.Sequential(
                    PeriodicEmbedding(d, sigma=self.sigma, width=self.width), mlp)
        super().__init__(encoder, **params)


class PeriodicFusion(TupleInfoNCEFusion):
    _training_module = PeriodicModule


def nearby_corrupt(x, rate, *, window, generator=None):
    """Corruption from nearby values: feature ``j`` of row ``i`` is replaced, with
    probability ``rate``, by feature ``j`` of the row up to ``window`` ranks away from
    row ``i`` in column ``j`` (the FeSTa study's neighbourhood corruption), not by a draw
    from the whole column."""
    n_rows = x.shape[0]
    if rate <= 0 or n_rows < 2:
        return x
    window = max(1, min(window, n_rows - 1))
    order = torch.sort(x, dim=0, stable=True).indices
    rank = torch.empty_like(order)
    rank.scatter_(0, order, torch.arange(n_rows, device=x.device).unsqueeze(1).expand_as(x))
    step = torch.randint(1, window + 1, x.shape, generator=generator, device=x.device)
    sign = torch.randint(0, 2, x.shape, generator=generator, device=x.device) * 2 - 1
    target = rank + sign * step
    target = torch.where((target < 0) | (target >= n_rows), rank - sign * step, target)
    donor = torch.gather(x, 0, torch.gather(order, 0, target.clamp(0, n_rows - 1)))
    uniform = torch.rand(x.shape, generator=generator, device=x.device)
    return torch.where(uniform < rate, donor, x)


class NearbyModule(TupleInfoNCEModule):
    """The training module with corruption from nearby values (a window of 5% of a batch)."""

    share = 0.05

    def _corrupt(self, block, k):
        window = int(round(self.share * block.shape[0]))
        out = nearby_corrupt(block, self.corruption[k], window=window, generator=self.generator)
        # The library's corruption at rate 0 adds only the view's Gaussian noise.
        return corrupt(out, 0.0, noise=self.noise, generator=self.generator)


class NearbyFusion(TupleInfoNCEFusion):
    _training_module = NearbyModule


def _variant(cls):
    def factory(modalities, **params):
        return cls(**{"modalities": modalities, "n_components": N_COMPONENTS, **params})
    return factory


def _periodic(sigma):
    """PeriodicFusion with frequencies drawn from N(0, sigma^2)."""
    module = type(f"PeriodicModule{sigma}", (PeriodicModule,), {"sigma": sigma})
    return _variant(type(f"PeriodicFusion{sigma}", (PeriodicFusion,),
                         {"_training_module": module}))


#: The bench_defaults study's variants, named by a setting's ``"variant"`` key.
VARIANTS = {"periodic": _variant(PeriodicFusion), "periodic, sigma=0.01": _periodic(0.01),
            "periodic, sigma=1": _periodic(1.0), "nearby": _variant(NearbyFusion)}


def variant(modalities, variant=None, **params):
    """TupleInfoNCE, or the lever ``VARIANTS[variant]`` of it."""
    return (VARIANTS[variant] if variant else tuple_infonce)(modalities, **params)


# --------------------------------------------------------------------------- supervised
def supervised_mlp(modalities, random_state=0, hidden=(128,), **_):
    """The labelled reference: an MLP on the standardised raw features."""
    return make_pipeline(_columns(modalities), StandardScaler(),
                         MLPClassifier(hidden, alpha=1e-3, max_iter=300, early_stopping=False,
                                       random_state=random_state))


def gradient_boosting(modalities, random_state=0, **params):
    """What a user picks without sktnce: HistGradientBoostingClassifier on the raw features
    (``params``, such as ``min_samples_leaf``, are the booster's)."""
    return make_pipeline(_columns(modalities), StandardScaler(),
                         HistGradientBoostingClassifier(random_state=random_state, **params))


def self_training(modalities, **_):
    """scikit-learn's semi-supervised pick: SelfTrainingClassifier around a
    LogisticRegression on the raw features, fitted with every row (-1: unlabelled)."""
    return make_pipeline(_columns(modalities), StandardScaler(),
                         SelfTrainingClassifier(LogisticRegression(max_iter=3000)))


def tuple_infonce_classifier(modalities, random_state=0, classifier=None, **params):
    """TupleInfoNCEClassifier with the study's fusion (``params``): the fusion on every row,
    then its encoder fine-tuned with a linear head on the labelled rows (``classifier``: a
    dict of the classifier's own parameters)."""
    return TupleInfoNCEClassifier(
        tuple_infonce(modalities, random_state=random_state, **params),
        random_state=random_state, **(classifier or {}))


#: The target-aware setting of the label-efficiency study (bench_target_aware.py chose it).
TARGET_AWARE = {"label_weight": 3.0, "label_loss": "cross_entropy"}


def tuple_infonce_target_aware(modalities, **params):
    """TupleInfoNCE with the supervised term on the labelled rows (``fit(X, y)``, -1 for
    unlabelled rows)."""
    return tuple_infonce(modalities, **{**TARGET_AWARE, **params})


UNSUPERVISED = {
    "raw features": raw,
    "PCA": pca,
    "per-modality PCA": per_modality_pca,
    "CMC (cross-modal)": cross_modal_contrast,
    "whole-tuple contrast": tuple_contrast,
    "TupleInfoNCE, uniform alpha": tuple_infonce,
    "TupleInfoNCE, searched": tuple_infonce_searched,
}
NEURAL = {"CMC (cross-modal)", "whole-tuple contrast", "TupleInfoNCE, uniform alpha",
          "TupleInfoNCE, searched"}


def fused_trees():
    """Members for ``TupleInfoNCEEnsembleClassifier(members=default_members() + ...)``:
    gradient boosting with large and small leaves on the modalities' columns beside the
    fused vector (``"columns_and_fused"``), as the regressor's defaults hold them."""
    return [("columns_and_fused_hgb", HistGradientBoostingClassifier(), "columns_and_fused"),
            ("columns_and_fused_hgb_leaf5", HistGradientBoostingClassifier(min_samples_leaf=5),
             "columns_and_fused")]


def trees_label(params):
    """``"max_features=0.2"``: the parameters of :func:`cheaper_trees`, as rows name them."""
    return ", ".join(f"{key}={value}" for key, value in params.items())


def cheaper_trees(params, default=None):
    """The two gradient-boosting members of ``default`` (None: ``default_members()``; give
    the ones the estimator builds on the table's width) with ``params`` set (cheaper trees),
    named after them: ``columns_hgb (max_features=0.2)``."""
    label = trees_label(params)
    return [(f"{name} ({label})", clone(member).set_params(**params), view)
            for name, member, view in default or default_members()
            if isinstance(member, HistGradientBoostingClassifier)]


def cheaper_members(params, default=None):
    """``default`` (None: ``default_members()``) with its boosted trees replaced, in place,
    by :func:`cheaper_trees` (``params``)."""
    default = default or default_members()
    cheaper = iter(cheaper_trees(params, default))
    return [next(cheaper) if isinstance(member[1], HistGradientBoostingClassifier) else member
            for member in default]


def as_array(Z):
    return np.asarray(Z, dtype=np.float64)

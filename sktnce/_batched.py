"""A search round's candidates trained as one model: stacked weights, one pass per batch.

The candidates of a round start from the same weights and optimizer state and share every
random draw (batches, batch kinds, corruption draws, dropped modalities, derangements); they
differ only by alpha and the corruption rates. So their weights can be stacked along a
leading dimension and trained together with :func:`torch.func.vmap`: one forward and one
backward pass per batch for all of them, and one Adam step (elementwise, so each candidate's
slice moves exactly as its own Adam would move it). The result equals training the
candidates one by one, up to float rounding.
"""

import copy

import numpy as np
import torch
from skorch.callbacks import Callback
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from ._augment import apply_corruption, draw_corruption
from ._loss import training_loss
from ._network import TupleInfoNCEModule
from ._skorch import TupleInfoNCECriterion
from ._training import (
    TrainingState,
    build_fusion_net,
    build_net,
    fit_net,
    load_optimizer_state,
    reconstruction_units,
)

__all__ = ["CandidateBatchCriterion", "CandidateBatchModule", "can_batch", "train_stacked"]

_PER_CANDIDATE = ("z1", "z2", "disturbed1", "disturbed2", "reconstructed1", "reconstructed2")


class _Method(nn.Module):
    """A module whose forward is one method of ``module``, for :func:`functional_call`."""

    def __init__(self, module, method):
        super().__init__()
        self.module = module
        self.method = method

    def forward(self, *args):
        return getattr(self.module, self.method)(*args)


class CandidateBatchModule(TupleInfoNCEModule):
    """C copies of a :class:`TupleInfoNCEModule`, with their encoders' weights stacked.

    Its outputs are those of the single module with a leading candidate dimension
    (``z1`` is (C, B, D), the disturbed tuples (C, K', R, B, D)), except the masks of the
    disturbed tuples, shared by all candidates ((K', R, B)).

    Parameters
    ----------
    encoders : sequence of TupleEncoder
        The C candidates' encoders, of one architecture.
    corruption : array-like of shape (C, K)
        Each candidate's corruption rate of each modality. Where one candidate's rate is 0
        every candidate's must be: a rate of 0 draws nothing.
    disturbed_modalities, n_derangements, modality_dropout, noise, seed, partial_share
        As in :class:`TupleInfoNCEModule`, shared by the candidates.
    """

    def __init__(self, encoders, *, corruption, disturbed_modalities, n_derangements,
                 modality_dropout, noise, seed, partial_share=0.0):
        rates = np.asarray(corruption, dtype=np.float64)
        if rates.ndim != 2 or rates.shape[0] != len(encoders):
            raise ValueError(
                f"corruption must have shape ({len(encoders)}, n_modalities); got {rates.shape}."
            )
        if ((rates > 0) != (rates[:1] > 0)).any():
            raise ValueError("A modality's corruption rate is 0 for some candidates only.")
        super().__init__(encoders[0], corruption=rates[0],
                         disturbed_modalities=disturbed_modalities,
                         n_derangements=n_derangements, modality_dropout=modality_dropout,
                         noise=noise, seed=seed, partial_share=partial_share)
        # The encoder becomes a weightless template (on the meta device, not a submodule):
        # functional_call runs it with each candidate's slice of the stacked weights.
        template = copy.deepcopy(encoders[0]).to("meta")
        del self._modules["encoder"]
        object.__setattr__(self, "encoder", template)
        object.__setattr__(self, "_embed_call", _Method(template, "embed"))
        object.__setattr__(self, "_project_call", _Method(template, "project_with_swaps"))
        object.__setattr__(self, "_reconstruct_call", _Method(template, "reconstruct"))
        self.weight_names = [name for name, _ in template.named_parameters()]
        stacked, _ = stack_module_state(list(encoders))
        self.weights = nn.ParameterList(nn.Parameter(stacked[name]) for name in self.weight_names)
        # float32, as the single module's float rate meets the float32 uniform draw.
        self.register_buffer(
            "rates", torch.as_tensor(rates.T, dtype=torch.float32).reshape(*rates.T.shape, 1, 1))

    @property
    def n_candidates(self):
        return self.weights[0].shape[0]

    @property
    def device(self):
        return self.weights[0].device

    def candidate_state(self, index):
        """Candidate ``index``'s encoder state dict (copies)."""
        return {name: weight[index].detach().clone()
                for name, weight in zip(self.weight_names, self.weights)}

    def _weights(self):
        return {f"module.{name}": weight for name, weight in zip(self.weight_names, self.weights)}

    def _corrupt(self, block, k):
        draws = draw_corruption(block, corrupted=self.corruption[k] > 0, noise=self.noise,
                                generator=self.generator)
        corrupted = apply_corruption(block, draws, self.rates[k], noise=self.noise)
        return corrupted.expand(self.n_candidates, *block.shape)

    def _embed(self, augmented, absent):
        def embed(weights, blocks):
            return functional_call(self._embed_call, weights, (blocks, absent))

        return vmap(embed)(self._weights(), augmented)

    def _project(self, embeddings, swaps):
        def project(weights, candidate_embeddings):
            return functional_call(self._project_call, weights, (candidate_embeddings, swaps))

        return vmap(project)(self._weights(), embeddings)

    def _reconstruct(self, embeddings):
        def reconstruct(weights, candidate_embeddings):
            return functional_call(self._reconstruct_call, weights, (candidate_embeddings,))

        return vmap(reconstruct)(self._weights(), embeddings)


class CandidateBatchCriterion(TupleInfoNCECriterion):
    """The sum over candidates of :func:`~sktnce._loss.training_loss`, each with its alpha.

    The sum's gradient with respect to a candidate's weights is that candidate's own loss
    gradient. ``candidate_losses_`` keeps the last batch's losses, shape (C,).

    Parameters
    ----------
    alpha : array-like of shape (C, K' + 1)
        Each candidate's mixture weights, ordinary first (normalised per candidate).
    temperature, reconstruction
        As in :class:`~sktnce._skorch.TupleInfoNCECriterion`, shared by the candidates.
    """

    def forward(self, outputs):
        # The candidates' own outputs carry a leading candidate dimension; the disturbed
        # tuples' masks, the clean blocks and the present mask are shared.
        stacked = {name: getattr(outputs, name) for name in _PER_CANDIDATE
                   if getattr(outputs, name) is not None}
        term = self.reconstruction_term()

        def loss(candidate_outputs, alpha):
            return training_loss(outputs._replace(**candidate_outputs), alpha,
                                 self.temperature, term)

        losses = vmap(loss)(stacked, self.alpha)
        self.candidate_losses_ = losses.detach()
        return losses.sum()


class RecordCandidateLosses(Callback):
    """Each candidate's mean training loss of every epoch, weighted by batch size as
    skorch weighs ``train_loss``: ``epoch_losses_`` is (epochs, C)."""

    def on_train_begin(self, net, **kwargs):
        self.epoch_losses_ = []

    def on_epoch_begin(self, net, **kwargs):
        self._sum, self._rows = 0.0, 0

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if training:
            # Summed on the losses' device: read back once an epoch, not once a batch.
            n_rows = len(batch[0]["x"])
            self._sum = self._sum + net.criterion_.candidate_losses_.double() * n_rows
            self._rows += n_rows

    def on_epoch_end(self, net, **kwargs):
        self.epoch_losses_.append((self._sum / self._rows).cpu().tolist())


def _stacked_optimizer_state(state, n_candidates):
    """An Adam state dict of one model, repeated for ``n_candidates`` stacked models."""
    stacked = copy.deepcopy(state)
    for parameter_state in stacked["state"].values():
        for key, value in parameter_state.items():
            if key != "step":
                parameter_state[key] = value.unsqueeze(0).repeat(
                    n_candidates, *[1] * value.ndim)
    return stacked


def _candidate_optimizer_state(state, index):
    """Candidate ``index``'s slice of a stacked Adam state dict."""
    sliced = copy.deepcopy({"param_groups": state["param_groups"], "state": {}})
    for parameter, parameter_state in state["state"].items():
        sliced["state"][parameter] = {
            key: value.clone() if key == "step" else value[index].clone()
            for key, value in parameter_state.items()
        }
    return sliced


def can_batch(config, settings=()):
    """Whether candidates of ``settings`` (:class:`~sktnce._setting.Setting`) can train as
    one :class:`CandidateBatchModule`; with no settings, whether ``config``'s training
    module can."""
    if (config.training_module is not TupleInfoNCEModule
            or config.criterion is not TupleInfoNCECriterion):
        return False  # a subclass's own training module (as benchmarks build baselines)
    if config.supervision is not None:
        return False  # the stacked module has no labels or classifier heads
    disturbed = {tuple(setting.disturbed_modalities) for setting in settings}
    corrupted = {tuple(rate > 0 for rate in setting.rates) for setting in settings}
    return len(disturbed) <= 1 and len(corrupted) <= 1


def train_stacked(config, start, settings, seeds, encoded, *, widths, epochs, rows=None):
    """Train one candidate per setting from ``start``, as one stacked model.

    Gives, up to float rounding, what :func:`~sktnce._training.train` gives for each
    setting with ``start``, ``seeds`` and ``epochs`` on ``rows`` of ``encoded``;
    ``settings`` must pass :func:`can_batch`.

    Parameters
    ----------
    config : TrainingConfig
    start : TrainingState
        Where every candidate starts: its weights and Adam state.
    settings : list of Setting
    seeds : FitSeeds
        Shared by the candidates (the initial weights are ``start``'s).
    encoded : EncodedTable
    widths : list of int
        The modalities' block widths.
    epochs : int
    rows : array-like of int, default=None
        The training rows of ``encoded``; None: all.

    Returns
    -------
    states : list of TrainingState
        One per setting, its net built as a single candidate's would be.
    """
    module = CandidateBatchModule(
        [start.net.module_.encoder] * len(settings),
        corruption=[setting.rates for setting in settings],
        disturbed_modalities=settings[0].disturbed_modalities, seed=seeds.augment,
        **config.module_params,
    )
    recorder = RecordCandidateLosses()
    net = build_net(
        config, module, np.array([setting.criterion_alpha for setting in settings]),
        widths=widths, shuffle_seed=seeds.shuffle, criterion=CandidateBatchCriterion,
        max_epochs=epochs, rows=rows, scales=reconstruction_units(config, encoded, widths, rows),
        callbacks=[("candidate_losses", recorder)],
    )
    load_optimizer_state(
        net, _stacked_optimizer_state(start.net.optimizer_.state_dict(), len(settings)),
        config.lr)
    fit_net(net, encoded, on_interrupt="raise")

    optimizer_state = net.optimizer_.state_dict()
    states = []
    for index, setting in enumerate(settings):
        candidate_net = build_fusion_net(
            config, widths, setting, seeds, max_epochs=epochs,
            initial_state=module.candidate_state(index),
            optimizer_state=_candidate_optimizer_state(optimizer_state, index),
        )
        candidate_net.module_.eval()
        losses = tuple(epoch[index] for epoch in recorder.epoch_losses_)
        states.append(TrainingState(candidate_net, tuple(start.loss_curve) + losses,
                                    seeds.evaluation))
    return states

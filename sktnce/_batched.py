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
from ._fusion import _criterion_alpha, _reset_learning_rate, resolve_alpha, resolve_corruption
from ._loss import _unchecked_loss, _unchecked_reconstruction_loss
from ._network import TupleInfoNCEModule
from ._skorch import TupleInfoNCECriterion

__all__ = ["CandidateBatchCriterion", "CandidateBatchModule", "train_candidate_batch"]


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
    """The sum over candidates of :class:`TupleInfoNCECriterion`'s loss, each with its alpha.

    The sum's gradient with respect to a candidate's weights is that candidate's own loss
    gradient. ``candidate_losses_`` keeps the last batch's losses, shape (C,).

    Parameters
    ----------
    alpha : array-like of shape (C, K' + 1)
        Each candidate's mixture weights, ordinary first (normalised here, per candidate,
        as :func:`sktnce.tuple_infonce_loss` normalises them).
    temperature, reconstruction, block_widths, block_scales
        As in :class:`~sktnce._skorch.TupleInfoNCECriterion`, shared by the candidates.
    """

    def forward(self, outputs):
        z1, z2, disturbed1, disturbed2, mask1, mask2 = outputs[:6]

        def loss(z1, z2, disturbed1, disturbed2, alpha):
            alpha = alpha / alpha.sum()
            return 0.5 * (
                _unchecked_loss(z1, z2, disturbed2, alpha, self.temperature, mask2).mean()
                + _unchecked_loss(z2, z1, disturbed1, alpha, self.temperature, mask1).mean()
            )

        losses = vmap(loss)(z1, z2, disturbed1, disturbed2, self.alpha)
        if len(outputs) > 6:
            reconstructed1, reconstructed2, target, present = outputs[6:]

            def reconstruction_error(reconstructed):
                return _unchecked_reconstruction_loss(reconstructed, target, self.block_widths,
                                                      present, self.block_scales)

            losses = losses + self.reconstruction * 0.5 * (
                vmap(reconstruction_error)(reconstructed1)
                + vmap(reconstruction_error)(reconstructed2))
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
            n_rows = len(batch[0]["x"])
            self._sum = self._sum + net.criterion_.candidate_losses_.double().cpu() * n_rows
            self._rows += n_rows

    def on_epoch_end(self, net, **kwargs):
        self.epoch_losses_.append((self._sum / self._rows).tolist())


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


def can_batch(start, settings=()):
    """Whether ``settings`` (a list of (alpha, corruption)) of a warm start from ``start``
    can train as one :class:`CandidateBatchModule`; with no settings, whether ``start``'s
    training module can."""
    if (type(start)._training_module is not TupleInfoNCEModule
            or type(start)._criterion is not TupleInfoNCECriterion):
        return False  # a subclass's own training module (as benchmarks build baselines)
    names = list(start.output_indices_)
    disturbed = {tuple(start._disturbed_modalities(resolve_alpha(alpha, names)))
                 for alpha, _ in settings}
    corrupted = {tuple(rate > 0 for rate in resolve_corruption(corruption, names).values())
                 for _, corruption in settings}
    return len(disturbed) <= 1 and len(corrupted) <= 1


def train_candidate_batch(start, settings, *, epochs, random_state, features, missing,
                          rows=None):
    """Train warm-started copies of ``start``, one per setting, as one stacked model.

    Gives what ``copy.deepcopy(start).set_params(alpha=..., corruption=...,
    max_epochs=epochs, random_state=random_state, warm_start=True).fit(X)`` gives for every
    setting, up to float rounding, where ``features`` and ``missing`` are ``start``'s
    encoding of ``X``, or of a table whose ``rows`` are ``X``. ``settings`` must pass
    :func:`can_batch`.

    Returns
    -------
    candidates : list of TupleInfoNCEFusion
    """
    names = list(start.output_indices_)
    alphas = [resolve_alpha(alpha, names) for alpha, _ in settings]
    rates = [resolve_corruption(corruption, names) for _, corruption in settings]
    disturbed = start._disturbed_modalities(alphas[0])
    trainer = copy.copy(start).set_params(random_state=random_state)
    _, augment_seed, shuffle_seed, eval_seed = trainer._draw_seeds()

    encoder = start.net_.module_.encoder
    module = CandidateBatchModule(
        [encoder] * len(settings), corruption=[[rate[name] for name in names] for rate in rates],
        disturbed_modalities=disturbed, seed=augment_seed, **start._module_params(),
    )
    recorder = RecordCandidateLosses()
    net = trainer._skorch_net(
        module, CandidateBatchCriterion,
        np.array([_criterion_alpha(alpha, disturbed) for alpha in alphas]),
        shuffle_seed=shuffle_seed, max_epochs=epochs, callbacks=[("candidate_losses", recorder)],
        rows=rows, block_scales=start._block_scales(features, missing, rows),
    )
    net.initialize()
    net.optimizer_.load_state_dict(
        _stacked_optimizer_state(start.net_.optimizer_.state_dict(), len(settings)))
    _reset_learning_rate(net.optimizer_, start.lr)
    net.partial_fit({"x": features, "missing": missing}, None)
    completed = dict(net.callbacks_)["last_complete_epoch"].completed_epochs_
    if completed < epochs:
        # skorch ended the round quietly on KeyboardInterrupt: it must stop the search.
        raise KeyboardInterrupt(f"The search's round was interrupted after {completed} epochs.")

    optimizer_state = net.optimizer_.state_dict()
    candidates = []
    for index, ((alpha, corruption), alpha_array, rate) in enumerate(zip(settings, alphas, rates)):
        # A deep copy of all but the net, which is replaced: as independent as a copy
        # trained on its own.
        candidate = copy.deepcopy(start, memo={id(start.net_): None}).set_params(
            alpha=np.asarray(alpha).tolist(), corruption=dict(corruption), max_epochs=epochs,
            random_state=random_state, warm_start=True, verbose=0,
        )
        candidate_net = candidate._build_net(
            alpha_array, rate, weight_seed=0, augment_seed=augment_seed,
            shuffle_seed=shuffle_seed, max_epochs=epochs,
            initial_state=module.candidate_state(index),
            optimizer_state=_candidate_optimizer_state(optimizer_state, index),
        )
        candidate._set_trained(candidate_net, alpha_array, rate)
        candidate.loss_curve_ = list(start.loss_curve_) + [
            losses[index] for losses in recorder.epoch_losses_]
        candidate.n_iter_ = len(candidate.loss_curve_)
        candidate._eval_seed = eval_seed
        candidates.append(candidate)
    return candidates

"""Fine-tuning a fused encoder with a linear head on labelled rows, stopped early.

The two steps of LP-FT (Kumar et al., "Fine-Tuning can Distort Pretrained Features and
Underperform Out-of-Distribution", ICLR 2022): a linear probe on the frozen
representation gives the head its initial weights (:func:`probe_head`), then the encoder and
the head train together on the cross-entropy (:func:`fine_tune`), keeping the epoch with the
lowest loss on held-out labelled rows, as :class:`~sklearn.neural_network.MLPClassifier`'s
``early_stopping`` does. Pure torch and scikit-learn: no estimator here.
"""

import copy
from typing import NamedTuple, Optional

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.nn import functional as F

from ._modalities import EncodedTable
from ._training import represent

__all__ = ["ClassifierNetwork", "FineTuneConfig", "FineTuneResult", "class_logits",
           "contrastive_regulariser", "fine_tune", "probe_head"]


class ClassifierNetwork(nn.Module):
    """A fused encoder (its representation r) followed by a linear head to class logits."""

    def __init__(self, encoder, head):
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, x, absent):
        return self.head(self.encoder(x, absent))


class FineTuneConfig(NamedTuple):
    """How :func:`fine_tune` trains."""

    max_epochs: int
    lr: float
    batch_size: int
    #: Epochs without a validation loss lower than the best by more than ``tol`` before
    #: training stops.
    n_iter_no_change: int
    tol: float
    #: Seed of the batches' order.
    seed: int


class FineTuneResult(NamedTuple):
    """What :func:`fine_tune` leaves: the losses of every epoch it trained, and which epoch's
    weights it kept (0: the probe's, before any fine-tuning)."""

    loss_curve: list
    #: Validation loss before fine-tuning, then after each epoch; empty without
    #: validation rows.
    validation_loss_curve: list
    best_epoch: int


def _rows(encoded, rows):
    index = torch.as_tensor(rows, dtype=torch.long, device=encoded.features.device)
    return EncodedTable(encoded.features[index], encoded.missing[index])


#: How far below the mean of the other classes' logits a class that the probe never saw
#: starts: its probability is at most exp(-10), about 5e-5, on every row.
_UNSEEN_CLASS_MARGIN = 10.0


def probe_head(encoder, encoded, rows, codes, n_classes):
    """A linear layer from r to ``n_classes`` logits: a standardised logistic regression
    on the frozen r of ``rows``, with the scaling folded into the weights (the "LP" of
    LP-FT). ``codes`` are the class indices of ``rows``; a class absent from them is never
    predicted (its probability is below ``exp(-_UNSEEN_CLASS_MARGIN)`` on every row)."""
    r = represent(encoder, _rows(encoded, rows)).astype(np.float64)
    scaler = StandardScaler().fit(r)
    probe = LogisticRegression(max_iter=3000).fit(scaler.transform(r), codes)
    coef, intercept = probe.coef_, probe.intercept_
    if coef.shape[0] == 1:
        # Binary: the second class's logit against the first's, as a logit each.
        coef, intercept = np.vstack([-coef, coef]) / 2, np.hstack([-intercept, intercept]) / 2
    # The same vector added to every seen class's weights leaves their softmax as it is;
    # centred, their logits average to their mean bias on every row, so that the best of
    # them is at least that mean, whatever r.
    coef = coef - coef.mean(axis=0)
    weight = np.zeros((n_classes, r.shape[1]))
    bias = np.zeros(n_classes)
    weight[probe.classes_] = coef / scaler.scale_
    bias[probe.classes_] = intercept - weight[probe.classes_] @ scaler.mean_
    unseen = np.setdiff1d(np.arange(n_classes), probe.classes_)
    bias[unseen] = bias[probe.classes_].mean() - _UNSEEN_CLASS_MARGIN
    head = nn.Linear(r.shape[1], n_classes)
    reference = encoder.absent
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(weight, dtype=reference.dtype))
        head.bias.copy_(torch.as_tensor(bias, dtype=reference.dtype))
    return head.to(reference.device)


def class_logits(network, encoded):
    """The network's class logits of every row of ``encoded``, as float64, computed in
    float64 from a copy of its weights, so that a row's logits depend on how many rows
    share its call by float64 rounding only (about 1e-15), not by float32's."""
    exact = copy.deepcopy(network).double()
    table = EncodedTable(encoded.features.double(), encoded.missing)
    r = torch.as_tensor(represent(exact.encoder, table))
    with torch.inference_mode():
        return exact.head(r.to(exact.head.weight.device)).cpu().numpy()


def contrastive_regulariser(module, criterion, encoded, *, weight, batch_size, seed):
    """A fine-tuning regulariser: ``weight`` times the fusion's own loss (``criterion`` of
    its training ``module``, whose encoder is the one fine-tuned) on ``batch_size`` rows of
    ``encoded`` drawn afresh at each call, labelled or not, so that the encoder keeps what
    it learned without labels while the head's cross-entropy moves it."""
    generator = torch.Generator().manual_seed(seed)
    n_rows = len(encoded.features)

    def term():
        module.train()
        index = torch.randperm(n_rows, generator=generator)[:batch_size]
        index = index.to(encoded.features.device)
        return weight * criterion(module(encoded.features[index], encoded.missing[index]))

    return term


def _validation_loss(network, validation, codes):
    logits = torch.as_tensor(class_logits(network, validation))
    return float(F.cross_entropy(logits, codes.cpu()))


def fine_tune(network, encoded, codes, train_rows, validation_rows, config, auxiliary=None):
    """Train ``network`` (a :class:`ClassifierNetwork`, in place) on the cross-entropy of
    ``train_rows`` of ``encoded``, whose class indices are ``codes`` (one per row of
    ``encoded``); return a :class:`FineTuneResult`. ``auxiliary`` (None: none), called at
    every step, returns a loss added to the batch's cross-entropy (a regulariser); the
    loss curve is the cross-entropy's.

    With ``validation_rows`` (None: none), the network ends with the weights of the epoch
    of lowest validation loss, the probe's included, and training stops after
    ``n_iter_no_change`` epochs without a lower one by more than ``tol``; without them, it
    trains ``max_epochs`` epochs.
    """
    device = encoded.features.device
    train_rows = torch.as_tensor(train_rows, dtype=torch.long, device=device)
    validation: Optional[EncodedTable] = None
    if validation_rows is not None:
        validation = _rows(encoded, validation_rows)
        validation_codes = codes[torch.as_tensor(validation_rows, device=codes.device)]
    optimizer = torch.optim.Adam(network.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    losses, validation_losses = [], []
    best_epoch, best_state, waited = 0, None, 0
    if validation is not None:
        validation_losses.append(_validation_loss(network, validation, validation_codes))
        best_state = copy.deepcopy(network.state_dict())
    for epoch in range(1, config.max_epochs + 1):
        network.train()
        order = train_rows[torch.randperm(len(train_rows), generator=generator).to(device)]
        total = 0.0
        for batch in torch.split(order, config.batch_size):
            loss = F.cross_entropy(network(encoded.features[batch], encoded.missing[batch]),
                                   codes[batch])
            optimizer.zero_grad()
            (loss if auxiliary is None else loss + auxiliary()).backward()
            optimizer.step()
            total += float(loss.detach()) * len(batch)
        network.eval()
        losses.append(total / len(train_rows))
        if validation is None:
            continue
        validation_losses.append(_validation_loss(network, validation, validation_codes))
        if validation_losses[-1] < validation_losses[best_epoch] - config.tol:
            best_epoch, best_state, waited = epoch, copy.deepcopy(network.state_dict()), 0
        else:
            waited += 1
            if waited >= config.n_iter_no_change:
                break
    if best_state is not None:
        network.load_state_dict(best_state)
    else:
        best_epoch = len(losses)
    return FineTuneResult(losses, validation_losses, best_epoch)

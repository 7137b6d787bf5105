"""Saving and loading a fitted TupleInfoNCEFusion without executing code on load.

``pickle`` and ``joblib`` files can run arbitrary code when read: loading one from an
untrusted source is running that source's program. :func:`save` writes a zip archive whose
parts cannot do that:

- ``sktnce.json``: the format and library versions, the estimator's plain parameters and
  fitted attributes (JSON);
- ``weights.safetensors``: the encoder's tensors (safetensors holds numbers only);
- ``modalities.skops``: the modality specification and fitted transformers (skops
  rebuilds only types that are known to be safe, or that the caller trusts by name).
"""

import io
import json
import warnings
import zipfile

import numpy as np
import torch

from ._version import __version__
from ._fusion import TupleInfoNCEFusion, _resolve_device

__all__ = ["load", "save"]

FORMAT = "sktnce"
FORMAT_VERSION = 1
_JSON, _WEIGHTS, _SKOPS = "sktnce.json", "weights.safetensors", "modalities.skops"
# Types loaded without being named in ``trusted``: skops' defaults, plus numpy.dtype, a
# plain data-type descriptor that fitted scikit-learn transformers keep (SimpleImputer).
_ALWAYS_TRUSTED = ("numpy.dtype",)
# Parameters that may hold arbitrary objects travel in the skops part, the rest in JSON.
_OBJECT_PARAMS = ("modalities", "random_state")


def _require_extras():
    try:
        import safetensors.torch  # noqa: F401
        import skops.io  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "sktnce.save and sktnce.load need the 'persist' extra: "
            'pip install "sktnce[persist]" (safetensors and skops).'
        ) from exc


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def save(estimator, path):
    """Save a fitted :class:`~sktnce.TupleInfoNCEFusion` to ``path`` (a zip archive).

    Parameters
    ----------
    estimator : TupleInfoNCEFusion
        Fitted.
    path : str or path-like

    See Also
    --------
    load : Read it back, refusing untrusted types.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> from sktnce import TupleInfoNCEFusion, save, load
    >>> X = np.random.default_rng(0).normal(size=(40, 4))
    >>> fusion = TupleInfoNCEFusion(max_epochs=1, n_components=4, random_state=0).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "fusion.sktnce")
    >>> save(fusion, path)
    >>> bool(np.array_equal(load(path).transform(X), fusion.transform(X)))
    True
    """
    _require_extras()
    import safetensors.torch
    import skops.io

    if not isinstance(estimator, TupleInfoNCEFusion):
        raise TypeError(f"save takes a TupleInfoNCEFusion; got {type(estimator).__name__}.")
    if not hasattr(estimator, "net_"):
        raise ValueError("save takes a fitted estimator; call fit first.")
    params = estimator.get_params(deep=False)
    fitted = {
        "alpha_": estimator.alpha_,
        "corruption_": estimator.corruption_,
        "output_indices_": {k: [s.start, s.stop] for k, s in estimator.output_indices_.items()},
        "n_features_in_": estimator.n_features_in_,
        "feature_names_in_": getattr(estimator, "feature_names_in_", None),
        "loss_curve_": estimator.loss_curve_,
        "n_iter_": estimator.n_iter_,
        "selects_1d": estimator._selects_1d,
        "eval_seed": estimator._eval_seed,
    }
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sktnce_version": __version__,
        "class": type(estimator).__name__,
        "params": _plain({k: v for k, v in params.items() if k not in _OBJECT_PARAMS}),
        "fitted": _plain(fitted),
    }
    objects = {k: params[k] for k in _OBJECT_PARAMS}
    objects["modalities_"] = estimator.modalities_
    encoder = estimator.net_.module_.encoder
    weights = {k: v.detach().cpu().contiguous() for k, v in encoder.state_dict().items()}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_JSON, json.dumps(header, indent=1))
        archive.writestr(_WEIGHTS, safetensors.torch.save(weights))
        archive.writestr(_SKOPS, skops.io.dumps(objects))


def load(path, *, trusted=None, device=None):
    """Load an estimator written by :func:`save`, without executing code from the file.

    Parameters
    ----------
    path : str or path-like
    trusted : list of str, default=None
        Fully qualified type names to trust beyond skops' safe defaults (and
        ``numpy.dtype``, which fitted transformers such as SimpleImputer keep), for example a
        custom transformer of yours (``["mypackage.MyTransformer"]``). Types the file needs
        that are neither are refused, and named in the error.
    device : str, default=None
        Where to put the network; ``None`` keeps the saved device, or the CPU (with a
        warning) when the saved one is a GPU and none is here.

    Returns
    -------
    estimator : TupleInfoNCEFusion
        Fitted; its ``transform`` equals the saved estimator's.
    """
    _require_extras()
    import safetensors.torch
    import skops.io

    try:
        with zipfile.ZipFile(path) as archive:
            header = json.loads(archive.read(_JSON))
            weights_bytes = archive.read(_WEIGHTS)
            objects_bytes = archive.read(_SKOPS)
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not an sktnce file ({exc}).") from None
    if header.get("format") != FORMAT or header.get("class") != "TupleInfoNCEFusion":
        raise ValueError(f"{path} is not an sktnce TupleInfoNCEFusion file.")
    if header.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} was saved by sktnce {header.get('sktnce_version')} in file format "
            f"version {header.get('format_version')}; this sktnce ({__version__}) reads "
            f"format version {FORMAT_VERSION}. Load it with the sktnce version that saved it."
        )
    trusted = [*_ALWAYS_TRUSTED, *(trusted or [])]
    untrusted = sorted(set(skops.io.get_untrusted_types(data=objects_bytes)) - set(trusted))
    if untrusted:
        raise ValueError(
            f"{path} holds types that are not trusted: {untrusted}. Loading them could run "
            "code; if you trust this file's source, pass them in trusted=[...]."
        )
    objects = skops.io.loads(objects_bytes, trusted=trusted)
    try:
        weights = safetensors.torch.load(weights_bytes)
    except Exception as exc:  # safetensors raises its own error types for corrupt data
        raise ValueError(f"{path}: the weights are corrupt ({exc}).") from None

    params = dict(header["params"], **{k: objects[k] for k in _OBJECT_PARAMS})
    if device is not None:
        params["device"] = device
    else:
        try:
            _resolve_device(params["device"])
        except ValueError:
            warnings.warn(
                f"{path} was saved with device={params['device']!r}, which is not available "
                "here; loading on the CPU.",
                UserWarning,
                stacklevel=2,
            )
            params["device"] = "cpu"
    estimator = TupleInfoNCEFusion(**params)
    fitted = header["fitted"]
    estimator.modalities_ = objects["modalities_"]
    estimator._selects_1d = fitted["selects_1d"]
    estimator.output_indices_ = {k: slice(*v) for k, v in fitted["output_indices_"].items()}
    estimator.n_features_in_ = fitted["n_features_in_"]
    if fitted["feature_names_in_"] is not None:
        estimator.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
    estimator._eval_seed = fitted["eval_seed"]
    names = list(estimator.output_indices_)
    alpha = np.array([fitted["alpha_"][k] for k in ["ordinary", *names]])
    net = estimator._build_net(alpha, fitted["corruption_"], weight_seed=0, augment_seed=0,
                               shuffle_seed=0, initial_state=weights)
    net.initialize()
    estimator._set_trained(net, alpha, fitted["corruption_"])
    estimator.loss_curve_ = fitted["loss_curve_"]
    estimator.n_iter_ = fitted["n_iter_"]
    return estimator

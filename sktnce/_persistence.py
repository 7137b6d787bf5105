"""Saving and loading fitted sktnce estimators without executing code on load.

``pickle`` and ``joblib`` files can run arbitrary code when read: loading one from an
untrusted source is running that source's program. :func:`save` writes a zip archive whose
parts cannot do that. A :class:`~sktnce.TupleInfoNCEFusion` is three parts:

- ``sktnce.json``: the format and library versions, the class, the parameters that JSON
  keeps exactly (numbers, str, lists and dicts of them) and the fitted attributes;
- ``weights.safetensors``: the encoder's tensors (safetensors holds numbers only);
- ``modalities.skops``: the other parameters (the modality specification, a tuple, a
  RandomState, ...) and the fitted transformers (skops rebuilds only types that are known
  to be safe, or that the caller trusts by name).

A :class:`~sktnce.TupleInfoNCESearch` is its own ``sktnce.json`` and ``modalities.skops``,
in which its ``estimator`` parameter is described by its parameters (as a fusion's are),
and its ``best_estimator_`` as the three parts of a fusion under ``best_estimator_/``. A
:class:`~sktnce.TupleInfoNCEClassifier` is the same with its ``fusion_``, plus its
fine-tuned ``network_`` as ``network_.safetensors``; a
:class:`~sktnce.TupleInfoNCEEnsembleClassifier` or :class:`~sktnce.TupleInfoNCERegressor`,
with its ``fusion_``, keeps its fitted members in its ``modalities.skops``.

:func:`save` writes the archive to a new file beside the target and moves it over the target
only once it is complete, so a failure while writing leaves the previous file intact.
"""

import json
import os
import secrets
import shutil
import warnings
import zipfile

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ._classifier import TupleInfoNCEClassifier
from ._ensemble import TupleInfoNCEEnsembleClassifier
from ._finetune import ClassifierNetwork
from ._fusion import FusionState, TupleInfoNCEFusion
from ._modalities import Preprocessing
from ._network import Architecture
from ._regressor import TupleInfoNCERegressor
from ._search import TupleInfoNCESearch
from ._setting import FitSeeds, resolve_setting
from ._training import TrainingConfig, TrainingState, build_fusion_net, resolve_device
from ._version import __version__

__all__ = ["load", "save"]

FORMAT = "sktnce"
#: Version 3 saves the network's architecture (read from its layers); version 2 the
#: search, and every parameter JSON cannot hold exactly in the skops part; version 1 (a
#: fusion, with modalities and random_state in the skops part). All three are read.
FORMAT_VERSION = 3
_READABLE_VERSIONS = (1, 2, 3)
_JSON, _WEIGHTS, _SKOPS = "sktnce.json", "weights.safetensors", "modalities.skops"
#: Predictors of a fitted fusion, whose fitted arrays (classes_, feature_names_in_) load
#: back as arrays.
_PREDICTORS = (TupleInfoNCEClassifier, TupleInfoNCEEnsembleClassifier, TupleInfoNCERegressor)
#: Estimators saved as their own JSON and skops parts, with fitted fusions in folders.
_WRAPPERS = (TupleInfoNCESearch, *_PREDICTORS)
_CLASSES = {cls.__name__: cls for cls in (TupleInfoNCEFusion, *_WRAPPERS)}
# Types loaded without being named in ``trusted``: skops' defaults, plus numpy.dtype, a
# plain data-type descriptor that fitted scikit-learn transformers keep (SimpleImputer), and
# the arrays of nodes that a fitted HistGradientBoostingClassifier keeps per tree (an
# ensemble's default members), which hold numbers only.
_ALWAYS_TRUSTED = ("numpy.dtype",
                   "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor")
# Version 1 kept these parameters in the skops part, every other one in JSON.
_V1_OBJECT_PARAMS = ("modalities", "random_state")


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
    """``value`` with NumPy arrays and scalars, tuples and dict keys made JSON types."""
    if isinstance(value, np.ndarray):
        # an object array's tolist keeps its NumPy scalars (np.str_ from a list of a str
        # array's items): they are made JSON types one by one
        return _plain(value.tolist()) if value.dtype == object else value.tolist()
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _is_plain(value):
    """Whether JSON gives ``value`` back exactly: None, bool, int, float, str, and lists
    and str-keyed dicts of them (not a tuple, an array, a NumPy scalar or an object)."""
    if value is None or type(value) in (bool, int, float, str):
        return True
    if type(value) is list:
        return all(_is_plain(v) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _is_plain(v) for k, v in value.items())
    return False


def _describe(estimator):
    """The estimator's parameters, split into a JSON description and skops objects.

    A parameter that is itself an sktnce estimator (the search's ``estimator``) is
    described the same way, by its class and parameters, never stored as an object.
    """
    plain, objects, nested_plain, nested_objects = {}, {}, {}, {}
    for name, value in estimator.get_params(deep=False).items():
        if isinstance(value, torch.device):
            value = str(value)
        if type(value) in _CLASSES.values():
            nested_plain[name], nested_objects[name] = _describe(value)
        elif _is_plain(value):
            plain[name] = value
        else:
            objects[name] = value
    description = {"class": type(estimator).__name__, "params": plain,
                   "estimators": nested_plain}
    return description, {"params": objects, "estimators": nested_objects}


def _rebuild(description, objects, place, path):
    """An unfitted estimator from :func:`_describe`'s two halves; ``place`` maps a device."""
    cls = _CLASSES.get(description.get("class"))
    if cls is None:
        raise ValueError(f"{path} describes an unknown class {description.get('class')!r}.")
    params = {**description["params"], **objects["params"]}
    if issubclass(cls, TupleInfoNCEFusion) and "reconstruction" not in params:
        params["reconstruction"] = 0.0  # written before the parameter: trained without it
    for name, nested in description.get("estimators", {}).items():
        params[name] = _rebuild(nested, objects["estimators"][name], place, path)
    if "device" in params:
        params["device"] = place(params["device"])
    return cls(**params)


def _module_weights(module):
    """``module``'s tensors as safetensors bytes (numbers only, on the CPU)."""
    import safetensors.torch

    weights = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    return safetensors.torch.save(weights)


def _fusion_parts(estimator, prefix):
    """The archive members (name: bytes) of a fitted TupleInfoNCEFusion, under ``prefix``."""
    import skops.io

    description, objects = _describe(estimator)
    state = estimator._get_state()
    preprocessing, setting, training = state.preprocessing, state.setting, state.training
    fitted = {
        "alpha_": setting.alpha_by_name,
        "corruption_": setting.corruption,
        "output_indices_": {k: [s.start, s.stop]
                            for k, s in preprocessing.output_indices.items()},
        "n_features_in_": estimator.n_features_in_,
        "feature_names_in_": getattr(estimator, "feature_names_in_", None),
        "loss_curve_": list(training.loss_curve),
        "n_iter_": len(training.loss_curve),
        "selects_1d": [scalar for *_, scalar in preprocessing.plan],
        "eval_seed": training.eval_seed,
        "classes_": None if state.classes is None else state.classes.tolist(),
        "classes_dtype": None if state.classes is None else state.classes.dtype.str,
        "target_scale_": None if state.target_scale is None else list(state.target_scale),
        "architecture": training.net.module_.encoder.architecture._asdict(),
    }
    objects["fitted"] = {"modalities_": [spec[:3] for spec in preprocessing.plan]}
    return {
        prefix + _JSON: _header(description, _plain(fitted)),
        prefix + _WEIGHTS: _module_weights(training.net.module_.encoder),
        prefix + _SKOPS: skops.io.dumps(objects),
    }


def _holds_estimators(value):
    """Whether ``value`` is a scikit-learn estimator, or a list or tuple of them and of
    plain values (an ensemble's ``(name, estimator, view)`` members)."""
    if isinstance(value, BaseEstimator):
        return True
    return isinstance(value, (list, tuple)) and all(
        _is_plain(item) or _holds_estimators(item) for item in value)


def _wrapper_parts(estimator, prefix):
    """The archive members of a fitted search or classifier: its fitted fusions (such as
    ``best_estimator_``) as fusion parts in folders of their own, a fitted torch module
    (the classifier's ``network_``) as safetensors, every other fitted attribute in JSON
    where JSON keeps it exactly, else in the skops part (an ensemble's fitted members)."""
    import skops.io

    description, objects = _describe(estimator)
    objects["fitted"] = {}
    fitted, parts, fitted_estimators, networks, dtypes = {}, {}, [], [], {}
    for name, value in vars(estimator).items():
        if not name.endswith("_") or name.startswith("_"):
            continue
        if type(value) is TupleInfoNCEFusion:
            parts.update(_fusion_parts(value, f"{prefix}{name}/"))
            fitted_estimators.append(name)
            continue
        if isinstance(value, torch.nn.Module):
            parts[f"{prefix}{name}.safetensors"] = _module_weights(value)
            networks.append(name)
            continue
        if isinstance(value, np.ndarray):
            dtypes[name] = value.dtype.str  # JSON keeps the values; load, the dtype
        plain = _plain(value)
        if _is_plain(plain):
            fitted[name] = plain
        elif _holds_estimators(value):  # an ensemble's members_, which skops keeps
            objects["fitted"][name] = value
        else:
            raise TypeError(
                f"save cannot keep {type(estimator).__name__}.{name} (a "
                f"{type(value).__name__}): besides fitted TupleInfoNCEFusion attributes and "
                "scikit-learn estimators, only numbers, str, and lists and dicts of them are "
                "saved."
            )
    description["fitted_estimators"] = fitted_estimators
    description["fitted_networks"] = networks
    description["fitted_dtypes"] = dtypes
    return {
        prefix + _JSON: _header(description, fitted),
        prefix + _SKOPS: skops.io.dumps(objects),
        **parts,
    }


def _header(description, fitted):
    header = {"format": FORMAT, "format_version": FORMAT_VERSION,
              "sktnce_version": __version__, **description, "fitted": fitted}
    return json.dumps(header, indent=1).encode()


def _write_atomically(path, members):
    """Write the zip archive of ``members`` beside ``path``, then move it over ``path``.

    ``os.replace`` within one folder is atomic: ``path`` holds either its previous content
    or the complete archive, never part of one, whatever interrupts the writing; the
    temporary file is removed on failure. A new file gets the permissions a plain
    ``open`` would give it, an existing one keeps its own.
    """
    try:
        target = os.path.realpath(os.fspath(path))
    except TypeError:
        raise TypeError(f"path must be a str or path-like; got {type(path).__name__}.") from None
    folder, name = os.path.split(target)
    temporary = os.path.join(folder, f".{name}.{secrets.token_hex(8)}.tmp")
    # O_EXCL: never open a file that is already there; 0o666 as open() does, less the umask.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for member, data in members.items():
                    archive.writestr(member, data)
            file.flush()
            os.fsync(file.fileno())
        if os.path.exists(target):
            shutil.copymode(target, temporary)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def save(estimator, path):
    """Save a fitted fusion, search or classifier of sktnce as a safe archive.

    The archive is written to a temporary file in the folder of ``path`` and moved over
    ``path`` once complete: if saving fails, a file already at ``path`` is left as it was.

    Parameters
    ----------
    estimator : TupleInfoNCEFusion, TupleInfoNCESearch, TupleInfoNCEClassifier, \
            TupleInfoNCEEnsembleClassifier or TupleInfoNCERegressor
        Fitted. A search is saved with its parameters (its ``estimator`` too), its
        ``best_estimator_`` and its other fitted attributes (``alpha_``, ``corruption_``,
        ``history_``, ...); an ensemble with its fitted members, which skops keeps.
    path : str or path-like
        Where to write the zip archive.

    Raises
    ------
    TypeError
        If ``estimator`` is of another class, or a search holds a fitted attribute that
        is neither a fitted TupleInfoNCEFusion nor plain data.
    ValueError
        If ``estimator`` is not fitted.

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
    if type(estimator) not in _CLASSES.values():
        raise TypeError(
            "save takes a TupleInfoNCEFusion, a TupleInfoNCESearch, a "
            "TupleInfoNCEClassifier, a TupleInfoNCEEnsembleClassifier or a "
            "TupleInfoNCERegressor; got "
            f"{type(estimator).__name__}."
        )
    check_is_fitted(estimator, msg=(
        "save takes a fitted estimator; this %(name)s is not fitted: call fit first."))
    if isinstance(estimator, _WRAPPERS):
        members = _wrapper_parts(estimator, "")
    else:
        members = _fusion_parts(estimator, "")
    _write_atomically(path, members)


class _Archive:
    """The members of a saved archive, read and checked one part at a time."""

    def __init__(self, path):
        self.path = path
        try:
            with zipfile.ZipFile(path) as archive:
                self.members = {name: archive.read(name) for name in archive.namelist()}
        except zipfile.BadZipFile as exc:
            raise ValueError(f"{path} is not an sktnce file ({exc}).") from None

    def read(self, name):
        try:
            return self.members[name]
        except KeyError:
            raise ValueError(f"{self.path} is not an sktnce file (it has no {name}).") from None

    def weights(self, name):
        """The tensors of the safetensors member ``name``; corrupt data is a ValueError."""
        import safetensors.torch

        data = self.read(name)
        try:
            return safetensors.torch.load(data)
        except Exception as exc:  # safetensors raises its own error types for corrupt data
            raise ValueError(f"{self.path}: the weights are corrupt ({exc}).") from None

    def header(self, prefix, classes):
        try:
            header = json.loads(self.read(prefix + _JSON))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{self.path} is not an sktnce file ({exc}).") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT \
                or header.get("class") not in classes:
            raise ValueError(
                f"{self.path} is not an sktnce {' or '.join(classes)} file."
            )
        if header.get("format_version") not in _READABLE_VERSIONS:
            raise ValueError(
                f"{self.path} was saved by sktnce {header.get('sktnce_version')} in file "
                f"format version {header.get('format_version')}; this sktnce ({__version__}) "
                f"reads format versions {list(_READABLE_VERSIONS)}. Load it with the sktnce "
                "version that saved it."
            )
        return header

    def objects(self, prefix, header, trusted):
        import skops.io

        objects = skops.io.loads(self.read(prefix + _SKOPS), trusted=trusted)
        if header["format_version"] == 1:  # flat: the two object parameters, modalities_
            objects = {"params": {k: objects[k] for k in _V1_OBJECT_PARAMS},
                       "estimators": {}, "fitted": {"modalities_": objects["modalities_"]}}
        return objects

    def refuse_untrusted(self, trusted):
        import skops.io

        untrusted = set()
        for name, data in self.members.items():
            if name.endswith(_SKOPS):
                untrusted.update(skops.io.get_untrusted_types(data=data))
        untrusted = sorted(untrusted - set(trusted))
        if untrusted:
            raise ValueError(
                f"{self.path} holds types that are not trusted: {untrusted}. Loading them "
                "could run code; if you trust this file's source, pass them in trusted=[...]."
            )


class _Placement:
    """Maps a saved device to the one to load on; notes when a saved GPU is missing here."""

    def __init__(self, device):
        self.device = device
        self.missing = None

    def __call__(self, saved):
        if self.device is not None:
            return self.device
        try:
            resolve_device(saved)
        except ValueError:
            self.missing = saved
            return "cpu"
        return saved


def _saved_architecture(fitted, config, preprocessing, weights):
    """The network's :class:`~sktnce._network.Architecture` as saved (format 3), never the
    parameters', which ``set_params`` may have changed after the fit; for older files,
    which did not save it, the parameters' with the classifier head the weights hold."""
    if "architecture" in fitted:
        saved = fitted["architecture"]
        embedding = tuple(None if shape is None else tuple(shape)
                          for shape in saved.get("numeric_embedding", ()))
        return Architecture(**{**saved, "input_dims": tuple(saved["input_dims"]),
                               "numeric_embedding": embedding})
    n_classes = len(weights["classifier.bias"]) if "classifier.bias" in weights else 0
    return config.architecture(preprocessing.widths)._replace(n_classes=n_classes)


def _load_fusion(archive, prefix, trusted, place):
    header = archive.header(prefix, ["TupleInfoNCEFusion"])
    objects = archive.objects(prefix, header, trusted)
    weights = archive.weights(prefix + _WEIGHTS)
    estimator = _rebuild(header, objects, place, archive.path)
    fitted = header["fitted"]
    preprocessing = Preprocessing(
        [(*spec, scalar) for spec, scalar in zip(objects["fitted"]["modalities_"],
                                                 fitted["selects_1d"])],
        {k: slice(*v) for k, v in fitted["output_indices_"].items()},
    )
    setting = resolve_setting(fitted["alpha_"], fitted["corruption_"], preprocessing.names)
    seeds = FitSeeds(weights=0, augment=0, shuffle=0, evaluation=fitted["eval_seed"])
    classes = fitted.get("classes_")
    classes = None if classes is None else np.asarray(classes, dtype=fitted.get("classes_dtype"))
    config = TrainingConfig.from_estimator(estimator)
    net = build_fusion_net(config, preprocessing.widths, setting, seeds, initial_state=weights,
                           architecture=_saved_architecture(fitted, config, preprocessing,
                                                            weights))
    net.initialize()
    estimator._set_state(FusionState(preprocessing, setting,
                                     TrainingState(net, tuple(fitted["loss_curve_"]),
                                                   seeds.evaluation), classes,
                                     fitted.get("target_scale_")))
    estimator.n_features_in_ = fitted["n_features_in_"]
    if fitted["feature_names_in_"] is not None:
        estimator.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
    return estimator


def _classifier_network(classifier, weights):
    """The classifier's fine-tuned network, built as its fusion's encoder and a linear head
    to its classes, on the fusion's device, with ``weights``."""
    encoder = classifier.fusion_._get_state().training.net.module_.encoder
    architecture = encoder.architecture
    head = torch.nn.Linear(architecture.n_components, len(classifier.classes_))
    network = ClassifierNetwork(architecture.build(), head).to(encoder.absent.device)
    network.load_state_dict(weights)
    return network.eval()


def _load_wrapper(archive, prefix, trusted, place):
    """A search or a classifier, as :func:`_wrapper_parts` wrote it."""
    header = archive.header(prefix, [cls.__name__ for cls in _WRAPPERS])
    objects = archive.objects(prefix, header, trusted)
    estimator = _rebuild(header, objects, place, archive.path)
    for name in header.get("fitted_estimators", []):
        setattr(estimator, name, _load_fusion(archive, f"{prefix}{name}/", trusted, place))
    dtypes = header.get("fitted_dtypes", {})
    for name, value in objects.get("fitted", {}).items():
        setattr(estimator, name, value)
    for name, value in header["fitted"].items():
        setattr(estimator, name, value if name not in dtypes else np.asarray(
            value, dtype=dtypes[name]))
    if isinstance(estimator, _PREDICTORS):
        # Files saved before the dtypes were keep classes_ as a list.
        if hasattr(estimator, "classes_") and "classes_" not in dtypes:
            estimator.classes_ = np.asarray(estimator.classes_)
        if getattr(estimator, "feature_names_in_", None) is not None:
            estimator.feature_names_in_ = np.asarray(estimator.feature_names_in_, dtype=object)
        for name in header.get("fitted_networks", []):
            weights = archive.weights(f"{prefix}{name}.safetensors")
            setattr(estimator, name, _classifier_network(estimator, weights))
    return estimator


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
    estimator : TupleInfoNCEFusion, TupleInfoNCESearch, TupleInfoNCEClassifier, \
            TupleInfoNCEEnsembleClassifier or TupleInfoNCERegressor
        Fitted, as saved; its ``transform`` (a classifier's ``predict_proba``) equals the
        saved estimator's. Fitted arrays (a classifier's ``classes_``) come back with their
        dtype; a search's other fitted attributes, besides ``best_estimator_``, as JSON
        types (lists for tuples, str dict keys).
    """
    _require_extras()
    archive = _Archive(path)
    header = archive.header("", list(_CLASSES))
    trusted = [*_ALWAYS_TRUSTED, *(trusted or [])]
    archive.refuse_untrusted(trusted)
    place = _Placement(device)
    if header["class"] in {cls.__name__ for cls in _WRAPPERS}:
        estimator = _load_wrapper(archive, "", trusted, place)
    else:
        estimator = _load_fusion(archive, "", trusted, place)
    if place.missing is not None:
        warnings.warn(
            f"{path} was saved with device={place.missing!r}, which is not available here; "
            "loading on the CPU.",
            UserWarning,
            stacklevel=2,
        )
    return estimator

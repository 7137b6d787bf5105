"""Sphinx configuration: numpydoc API reference, sphinx-gallery examples.

Build with ``python -m sphinx -W -b html docs docs/_build/html`` from the repository root.
"""

import os
import pkgutil
import re
import sys
import warnings

import torch

sys.path.insert(0, os.path.abspath(".."))

from sktnce import __version__  # noqa: E402

project = "sktnce"
author = "the sktnce developers"
copyright = "2026, the sktnce developers"
release = __version__
version = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "README.md", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip"]
source_suffix = {".rst": "restructuredtext"}

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

html_theme = "pydata_sphinx_theme"
html_title = f"sktnce {version}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path = []

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "min_reported_time": 1,
}



def _quote_attribute_shapes(app, what, name, obj, options, lines):
    """Quote fitted-attribute names in shapes, e.g. ``(n_features_in_,)``.

    reST reads a bare word ending in ``_`` as a link target ("Unknown target name").
    """
    for i, line in enumerate(lines):
        if "shape (" in line:
            lines[i] = re.sub(r"(?<![`\w])([A-Za-z][\w]*_)(?=[,)])", r"``\1``", line)


# What scikit-learn's docstrings cross-reference in its own documentation: glossary terms,
# user guide sections. This build runs offline, without intersphinx, and cannot resolve them.
SKLEARN_GLOSSARY = "https://scikit-learn.org/stable/glossary.html"
_SKLEARN_ROLE = re.compile(r":(?:std:)?(term|ref|doc):`([^`]+)`")


def _docstring_owner(name, obj):
    """The object that wrote the docstring autodoc shows for ``name``.

    ``obj`` itself, or where it has no docstring, the attribute of a base class that autodoc
    takes one from (``autodoc_inherit_docstrings``).
    """
    obj = getattr(obj, "fget", obj)  # a property's docstring is its getter's
    if getattr(obj, "__doc__", None) or "." not in name:
        return obj
    parent, _, attribute = name.rpartition(".")
    try:
        cls = pkgutil.resolve_name(parent)
    except (ImportError, AttributeError, ValueError):
        return obj
    for base in getattr(cls, "__mro__", ())[1:]:
        inherited = base.__dict__.get(attribute)
        inherited = getattr(inherited, "fget", inherited)
        if getattr(inherited, "__doc__", None):
            return inherited
    return obj


def _sklearn_role_as_text(match):
    """A glossary term as a link to scikit-learn's glossary; a section as its title."""
    role, content = match.group(1), " ".join(match.group(2).split())
    explicit = re.fullmatch(r"(.+?)\s*<([^<>]+)>", content)
    title, target = explicit.groups() if explicit else (content, content)
    if role == "term":
        # the anchor Sphinx's glossary directive gives a term
        anchor = "term-" + re.sub(r"[^A-Za-z0-9._]+", "-", target).strip("-")
        return f"`{title} <{SKLEARN_GLOSSARY}#{anchor}>`__"
    return title if explicit else f"``{target}``"


def _unlink_sklearn_roles(app, what, name, obj, options, lines):
    """Rewrite the roles that resolve only in scikit-learn's documentation, in the docstrings
    that the estimators inherit from it (``set_score_request``, ``set_params``, ...)."""
    owner = _docstring_owner(name, obj)
    if (getattr(owner, "__module__", None) or "").split(".")[0] != "sklearn":
        return
    lines[:] = _SKLEARN_ROLE.sub(_sklearn_role_as_text, "\n".join(lines)).split("\n")


def setup(app):
    app.connect("autodoc-process-docstring", _quote_attribute_shapes, priority=400)
    app.connect("autodoc-process-docstring", _unlink_sklearn_roles, priority=400)


# Small networks train faster on one thread, and a shared machine's other threads do not
# stall the build; sphinx-gallery runs the examples in this process.
torch.set_num_threads(1)

# The examples call plt.show() on the non-interactive backend sphinx-gallery uses.
warnings.filterwarnings("ignore", message=".*non-interactive.*cannot be shown")

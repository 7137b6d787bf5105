"""Sphinx configuration: numpydoc API reference, sphinx-gallery examples.

Build with ``python -m sphinx -W -b html docs docs/_build/html`` from the repository root.
"""

import os
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


def setup(app):
    app.connect("autodoc-process-docstring", _quote_attribute_shapes, priority=400)


# Small networks train faster on one thread, and a shared machine's other threads do not
# stall the build; sphinx-gallery runs the examples in this process.
torch.set_num_threads(1)

# The examples call plt.show() on the non-interactive backend sphinx-gallery uses.
warnings.filterwarnings("ignore", message=".*non-interactive.*cannot be shown")

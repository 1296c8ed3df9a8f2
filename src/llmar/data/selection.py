"""From a config to a dataset and its train/test indices."""

from __future__ import annotations

import logging

import numpy as np

from llmar.config import Config
from llmar.data.dataset import DataError, SkeletonDataset
from llmar.data.transforms import alignment_problem

log = logging.getLogger(__name__)
_warned: set[str] = set()


def load_data(cfg: Config) -> SkeletonDataset:
    """The dataset a config names; warns once when ``data.align_view`` is asked for but cannot act."""
    from llmar.data.registry import load_dataset

    ds = load_dataset(cfg.data.kind, cfg.data.path, **cfg.data.options)
    problem = alignment_problem(ds.layout, ds.num_coords) if cfg.data.align_view else None
    if problem and problem not in _warned:
        _warned.add(problem)
        log.warning("data.align_view is on but does nothing: %s", problem)
    return ds


def split_indices(ds: SkeletonDataset, cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices. With ``data.unseen_classes``, their clips leave the training set entirely and
    the test set keeps them alone (the zero-shot protocol)."""
    if cfg.data.holdout_fraction > 0:
        train, test = holdout_split(ds.y, cfg.data.holdout_fraction)
    else:
        train, test = ds.indices(cfg.data.train_split), ds.indices(cfg.data.test_split)
    if cfg.data.unseen_classes:
        unseen = np.flatnonzero(np.isin(ds.classes, unseen_class_names(ds.classes, cfg.data.unseen_classes)))
        train, test = train[~np.isin(ds.y[train], unseen)], test[np.isin(ds.y[test], unseen)]
        if not len(train) or not len(test):
            raise DataError(f"{ds.source}: data.unseen_classes {cfg.data.unseen_classes} leaves "
                            f"{len(train)} training and {len(test)} test clips")
    if cfg.train.max_train_samples:
        train = _stratified_head(ds, train, cfg.train.max_train_samples, cfg.train.seed)
    if cfg.train.max_test_samples:
        test = _stratified_head(ds, test, cfg.train.max_test_samples, cfg.train.seed)
    return train, test


def unseen_class_names(classes: list[str], unseen: list[str]) -> list[str]:
    """``unseen`` checked against the dataset's class names (each must be one of them)."""
    unknown = [c for c in unseen if c not in classes]
    if unknown:
        raise DataError(f"data.unseen_classes: {unknown} are not class names of this dataset; known: {list(classes)}")
    return list(unseen)


def seen_classes(classes: list[str], cfg: Config) -> list[str]:
    """The class names training sees (all but ``data.unseen_classes``), in class order."""
    unseen = set(unseen_class_names(classes, cfg.data.unseen_classes))
    return [c for c in classes if c not in unseen]


def seen_mask(classes: list[str], cfg: Config) -> list[bool]:
    """For each class name, whether training sees it (False for ``data.unseen_classes``)."""
    seen = set(seen_classes(classes, cfg))
    return [c in seen for c in classes]


def holdout_split(y: np.ndarray, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices with ``fraction`` of each class held out (at least one sample of every class
    with two or more). The seed is fixed, not the training seed: every run of a recipe tests on the same clips."""
    if not 0 < fraction < 1:
        raise ValueError(f"data.holdout_fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        if len(members) >= 2:
            test.extend(members[: max(1, int(round(fraction * len(members))))])
    test = np.sort(np.asarray(test, dtype=np.int64))
    return np.setdiff1d(np.arange(len(y)), test), test


def _stratified_head(ds: SkeletonDataset, idx: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """A class-balanced subset of at most ``limit`` samples (for quick runs and tests)."""
    rng = np.random.default_rng(seed)
    idx = rng.permutation(idx)
    order = np.arange(len(idx))
    per_class: dict[int, int] = {}
    ranks = np.empty(len(idx), dtype=np.int64)
    for j, i in enumerate(idx[order]):
        c = int(ds.y[i])
        ranks[j] = per_class.get(c, 0)
        per_class[c] = ranks[j] + 1
    chosen = idx[order][np.argsort(ranks, kind="stable")][:limit]
    return np.sort(chosen)


__all__ = ["load_data", "split_indices", "seen_classes", "seen_mask", "unseen_class_names"]

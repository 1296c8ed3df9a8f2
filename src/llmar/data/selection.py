"""From a config to a dataset and its train/test indices."""

from __future__ import annotations

import numpy as np

from llmar.config import Config
from llmar.data.dataset import SkeletonDataset


def load_data(cfg: Config) -> SkeletonDataset:
    from llmar.data.registry import load_dataset

    return load_dataset(cfg.data.kind, cfg.data.path, **cfg.data.options)


def split_indices(ds: SkeletonDataset, cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    train, test = ds.indices(cfg.data.train_split), ds.indices(cfg.data.test_split)
    if cfg.train.max_train_samples:
        train = _stratified_head(ds, train, cfg.train.max_train_samples, cfg.train.seed)
    if cfg.train.max_test_samples:
        test = _stratified_head(ds, test, cfg.train.max_test_samples, cfg.train.seed)
    return train, test


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


__all__ = ["load_data", "split_indices"]

"""benchmarks/real_data.py's derived versions of a dataset: the validation version holds out whole training
subjects and never a test clip."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import benchmark_module, shared_data

from llmar.data.registry import load_dataset


@pytest.fixture(scope="module")
def real_data():
    return benchmark_module("real_data")


def test_validation_version_is_the_training_split_with_one_subject_held_out(real_data):
    full = load_dataset("auto", shared_data("utd_mhad", "utd_mhad.npz"))
    val = real_data.validation_version(full, "s7")
    train_names = set(full.names[full.split == "train"])
    assert set(val.names) == train_names  # every training clip, no test clip
    held = val.names[val.split == "test"]
    assert len(held) and all(name.split("_")[1] == "s7" for name in held)
    assert not any(name.split("_")[1] == "s7" for name in val.names[val.split == "train"])
    assert np.bincount(val.y[val.split == "test"], minlength=len(full.classes)).min() > 0  # every class held out
    index = {name: i for i, name in enumerate(full.names)}
    i = index[held[0]]
    np.testing.assert_array_equal(val.x[list(val.names).index(held[0])], full.x[i])
    with pytest.raises(SystemExit, match="s2"):
        real_data.validation_version(full, "s2")  # a test subject: nothing of it in the training split

"""`llmar data prepare` and `llmar data inspect` on the real NTU sample files."""

import numpy as np
from conftest import shared_data

from llmar.cli import main as cli_main
from llmar.data.generic_npz import load_npz


def test_prepare_then_inspect_ntu(tmp_path, capsys):
    raw = shared_data("ntu_samples", "raw_skeletons")
    out = tmp_path / "ntu.npz"
    assert cli_main(["data", "prepare", "ntu", "--raw", str(raw), "--out", str(out), "--benchmark", "xview"]) == 0
    ds = load_npz(out)
    assert isinstance(ds.x, np.memmap) and ds.x.shape[1:] == (2, 300, 25, 3) and len(ds) == 10
    assert set(ds.split) <= {"train", "test"}
    # X-View: camera 1 is the test view
    cams = [int(n[5:8]) for n in ds.names]
    assert all((s == "test") == (c == 1) for s, c in zip(ds.split, cams))
    assert cli_main(["data", "inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ntu25" in text and "spine_base" in text


def test_cli_reports_bad_input_cleanly(tmp_path, capsys):
    bad = tmp_path / "broken.skeleton"
    bad.write_text("3\n1\n")
    assert cli_main(["data", "inspect", str(tmp_path)]) == 1
    assert "broken.skeleton" in capsys.readouterr().err


def test_errors_go_to_standard_error_whole(tmp_path, capsys):
    """`llmar init-config missing.npz > mine.yaml` must not write the error into the YAML, nor wrap it."""
    missing = tmp_path / ("a-folder-name-long-enough-to-be-wrapped-at-eighty-columns" * 2) / "missing.npz"
    assert cli_main(["init-config", str(missing)]) == 1
    printed = capsys.readouterr()
    assert printed.out == "" and str(missing) in printed.err and printed.err.startswith("error: ")

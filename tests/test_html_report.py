"""The self-contained HTML report: embedded images, metrics, sample cards; renders in headless Chromium."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from llmar.api import Prediction, report_for_saved_run
from llmar.config import Config
from llmar.data.layout import NTU25, generic_layout
from llmar.data.synthetic import CLASSES as SYNTHETIC_CLASSES
from llmar.evaluation.html_report import pick_samples, report_for_run, write_html_report
from llmar.evaluation.metrics import classification_metrics
from llmar.evaluation.report import write_report

CHROMIUM = Path("/usr/bin/chromium")
CLASSES = ["wave", "clap", "<sit & down>"]  # markup in a name must come out escaped
IMG_SRC = re.compile(r"<img [^>]*src='data:image/(png|gif);base64,([A-Za-z0-9+/=]+)'")


def fake_metrics() -> dict:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 4)
    scores = rng.normal(size=(12, 3)) + 2.0 * np.eye(3)[labels]
    return classification_metrics(scores, labels, CLASSES) | {"eval_seconds": 1.25}


def samples() -> list:
    t = np.linspace(0, 1, 8, dtype=np.float32)
    ntu = np.zeros((2, 8, 25, 3), np.float32)
    ntu[0, :, :, 1] = np.linspace(0, 1.7, 25)[None]  # a vertical line of joints, swaying
    ntu[0, :, :, 0] = t[:, None] * np.linspace(0, 0.3, 25)[None]
    chain = np.stack([np.broadcast_to(np.arange(7.0), (8, 7)), np.sin(t[:, None] + np.arange(7))], -1)[None]
    return [("s1", ntu, NTU25, "wave", "clap", "<a_1><a_2>"),
            ("s2", chain.astype(np.float32), generic_layout(7), "clap", "clap", None)]


def embedded_images(page: str) -> list[Image.Image]:
    return [Image.open(io.BytesIO(base64.b64decode(data))) for _, data in IMG_SRC.findall(page)]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out_dir = tmp_path_factory.mktemp("eval")
    metrics = fake_metrics()
    write_report(metrics, CLASSES, out_dir)
    return write_html_report(out_dir, metrics, CLASSES, samples(), out_dir / "report.html")


def test_report_is_self_contained(report):
    page = report.read_text()
    assert "http://" not in page and "https://" not in page and "<script" not in page
    images = embedded_images(page)
    assert [im.format for im in images] == ["GIF", "GIF", "PNG", "PNG"]  # 2 samples, confusion, per-class
    assert images[0].n_frames == 8 and images[1].n_frames == 8
    assert page.count("<img") == 4


def test_report_shows_metrics_classes_and_predictions(report):
    page = report.read_text()
    m = fake_metrics()
    assert f"{100 * m['top1']:.2f} %" in page and f"{100 * m['mean_class_accuracy']:.2f} %" in page
    assert "&lt;sit &amp; down&gt;" in page and "<sit & down>" not in page
    assert "&lt;a_1&gt;&lt;a_2&gt;" in page  # the action sentence, escaped
    assert page.count("(wrong)") == 1 and page.count("(correct)") == 1


def test_missing_plots_are_drawn_from_metrics(tmp_path):
    path = write_html_report(tmp_path, fake_metrics(), CLASSES, [], tmp_path / "r.html")
    assert [im.format for im in embedded_images(path.read_text())] == ["PNG", "PNG"]


class StubRecognizer:
    """Predicts "wave" for everything, with a fixed sentence."""

    def predict(self, seq, top_k=5):
        return Prediction("wave", [("wave", 0.9)], "<a_7><a_8>")


def test_report_for_run_picks_distinct_classes(tmp_path, synthetic_small):
    ds = synthetic_small
    test_idx = ds.indices("test")
    chosen = pick_samples(ds, test_idx, 3)
    assert len({int(ds.y[i]) for i in chosen}) == 3 and set(chosen) <= set(test_idx.tolist())
    metrics = classification_metrics(np.eye(len(ds.classes))[ds.y[test_idx]], ds.y[test_idx], ds.classes)
    path = report_for_run(tmp_path, metrics, ds, test_idx, StubRecognizer(), num_samples=2)
    page = path.read_text()
    assert path == tmp_path / "eval" / "report.html"
    assert [im.format for im in embedded_images(page)] == ["GIF", "GIF", "PNG", "PNG"]
    assert page.count("&lt;a_7&gt;") == 2 and page.count("(correct)") + page.count("(wrong)") == 2


def test_report_for_saved_gcn_run_without_recognizer(tmp_path):
    cfg = Config(model="gcn")
    cfg.data.options = {"num_subjects": 2, "repeats": 1, "test_subjects": 1}
    cfg.save(tmp_path / "config.yaml")
    metrics = classification_metrics(np.eye(len(SYNTHETIC_CLASSES))[[0, 1]], np.array([0, 1]), list(SYNTHETIC_CLASSES))
    path = report_for_saved_run(tmp_path, metrics, num_samples=1)
    page = path.read_text()
    assert "predicted:" not in page and len(embedded_images(page)) == 3
    assert "model: gcn" in page  # the run's configuration is included


@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium not installed (apt-get install chromium)")
def test_renders_in_headless_chromium(report, tmp_path):
    base = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,1600"]
    url = report.resolve().as_uri()
    shot = tmp_path / "shot.png"
    subprocess.run([*base, f"--screenshot={shot}", url], capture_output=True, timeout=120, check=True)
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (1600, 1200) and pixels.std() > 10  # not a blank page
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True).stdout
    assert "mean_class_accuracy" in dom and f"{100 * fake_metrics()['top1']:.2f} %" in dom
    assert len(re.findall(r"<img [^>]*src=\"data:image/(?:png|gif);base64,", dom)) == 4
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)

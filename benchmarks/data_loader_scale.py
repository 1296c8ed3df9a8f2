"""Data loading at NTU-120 scale: write a generic .npz of random skeletons in chunks, memory-map it,
iterate a shuffled torch DataLoader over it, and report throughput and peak memory.

    python benchmarks/data_loader_scale.py                    # full size: 114,480 x 2 x 300 x 25 x 3 (~20.6 GB)
    python benchmarks/data_loader_scale.py --samples 20000    # ~3.6 GB

The file goes to the temp folder and is deleted at the end (--keep keeps it). Peak RSS counts the
memory-mapped pages a process has touched (file-backed, reclaimable); "anon" is memory that is not.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import torch
from torch.utils.data import DataLoader, Dataset

from llmar.data.generic_npz import load_npz
from llmar.data.npz_io import ChunkedArray, write_npz


def write_random_npz(path: Path, n: int, m: int, t: int, v: int, c: int, chunk: int, seed: int) -> None:
    """A generic-format file of n random-walk sequences with random lengths, x streamed in chunks."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(32, t + 1, size=n)

    def chunks():
        for i in range(0, n, chunk):
            k = min(chunk, n - i)
            x = np.cumsum(rng.standard_normal((k, m, t, v, c), dtype=np.float32) * 0.01, axis=2)
            x *= (np.arange(t)[None, :] < lengths[i : i + k, None])[:, None, :, None, None]  # zero tail
            yield x

    write_npz(
        path,
        {
            "x": ChunkedArray((n, m, t, v, c), np.float32, chunks()),
            "lengths": lengths,
            "y": rng.integers(0, 120, size=n),
            "classes": np.array([f"action {k}" for k in range(120)]),
            "split": np.where(rng.random(n) < 0.5, "train", "test"),
        },
    )


class MemmapSamples(Dataset):
    """Samples of a generic .npz; each DataLoader worker maps the file itself (nothing big is pickled)."""

    def __init__(self, path: Path):
        self.path, self.ds = path, None
        self.n = len(load_npz(path, check=False).y)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        if self.ds is None:
            self.ds = load_npz(self.path, mmap=True, check=False)
        return torch.from_numpy(self.ds.sample(i)[:, :64].copy()), int(self.ds.y[i])

    def __getstate__(self):
        return {**self.__dict__, "ds": None}


def collate(batch):
    """Pad the (first 64) valid frames of each sample to a batch."""
    t = max(x.shape[1] for x, _ in batch)
    out = torch.zeros(len(batch), batch[0][0].shape[0], t, *batch[0][0].shape[2:])
    for k, (x, _) in enumerate(batch):
        out[k, :, : x.shape[1]] = x
    return out, torch.tensor([y for _, y in batch])


class PeakMemory:
    """Samples RSS and anonymous RSS of this process and its children in a background thread."""

    def __init__(self, every: float = 0.1):
        self.every, self.peak_rss, self.peak_anon, self._stop = every, 0, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _anon(p: psutil.Process) -> int:
        with open(f"/proc/{p.pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
        return 0

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            rss = anon = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    rss += p.memory_info().rss
                    anon += self._anon(p)
                except (psutil.Error, OSError):
                    pass
            self.peak_rss, self.peak_anon = max(self.peak_rss, rss), max(self.peak_anon, anon)
            time.sleep(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=114_480, help="N (default: NTU-120 size)")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--bodies", type=int, default=2)
    ap.add_argument("--joints", type=int, default=25)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-batches", type=int, default=0, help="stop after this many batches (0: one epoch)")
    ap.add_argument("--path", type=Path, default=Path(tempfile.gettempdir()) / "llmar_loader_bench.npz")
    ap.add_argument("--keep", action="store_true", help="keep the file afterwards")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)

    shape = (args.samples, args.bodies, args.frames, args.joints, 3)
    try:
        t0 = time.perf_counter()
        with PeakMemory() as write_mem:
            write_random_npz(args.path, *shape, chunk=256, seed=args.seed)
        write_s = time.perf_counter() - t0
        size_gb = args.path.stat().st_size / 1e9
        print(f"wrote {args.path}: {size_gb:.2f} GB in {write_s:.1f} s, peak RSS {write_mem.peak_rss / 1e9:.2f} GB")

        assert isinstance(load_npz(args.path, check=False).x, np.memmap), "x should be memory-mapped"
        loader = DataLoader(
            MemmapSamples(args.path), batch_size=args.batch_size, shuffle=True, num_workers=args.workers,
            collate_fn=collate, generator=torch.Generator().manual_seed(args.seed),
        )  # fmt: skip
        seen, t0 = 0, time.perf_counter()
        with PeakMemory() as mem:
            for b, (x, _) in enumerate(loader):
                seen += len(x)
                if args.max_batches and b + 1 >= args.max_batches:
                    break
        load_s = time.perf_counter() - t0
    finally:
        if not args.keep:
            args.path.unlink(missing_ok=True)

    rate = seen / load_s
    print(f"read {seen} samples in random order in {load_s:.1f} s: {rate:.0f} samples/s")
    print(f"peak RSS (main + {args.workers} workers) {mem.peak_rss / 1e9:.2f} GB, of it anonymous {mem.peak_anon / 1e9:.2f} GB")
    cmd = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0])] + sys.argv[1:])
    print(
        f"| {args.samples} x {args.bodies}x{args.frames}x{args.joints}x3 | {size_gb:.2f} GB | write {write_s:.0f} s "
        f"| {rate:.0f} samples/s (batch {args.batch_size}, {args.workers} workers) "
        f"| peak RSS {mem.peak_rss / 1e9:.2f} GB (anon {mem.peak_anon / 1e9:.2f} GB) | `{cmd}` |"
    )


if __name__ == "__main__":
    main()

"""Low-level ``.npz`` IO shared by the generic and the CTR-GCN formats: atomic uncompressed writing
(whole arrays or streamed chunks), memory-mapping or reading members, and whole-array checks.

An uncompressed zip member is a plain ``.npy`` at an offset, so it can be memory-mapped.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llmar.data.dataset import DataError

# -- writing ----------------------------------------------------------------------------------------


@dataclass
class ChunkedArray:
    """An array too big for memory: its shape, dtype, and C-order chunks along axis 0 that fill it."""

    shape: tuple[int, ...]
    dtype: np.dtype
    chunks: Iterable[np.ndarray]


def write_npz(path: str | Path, members: dict[str, np.ndarray | ChunkedArray]) -> Path:
    """Write arrays as an uncompressed ``.npz``, atomically (temp file in the same folder + os.replace)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for key, arr in members.items():
                # force_zip64: the size is not known up front for streamed members
                with zf.open(f"{key}.npy", "w", force_zip64=True) as f:
                    if isinstance(arr, ChunkedArray):
                        _write_chunked(f, key, arr)
                    else:  # streams memmaps in 16 MiB pieces, never a whole copy
                        np.lib.format.write_array(f, np.asanyarray(arr), allow_pickle=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _write_chunked(f, key: str, arr: ChunkedArray) -> None:
    dtype = np.dtype(arr.dtype)
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": tuple(arr.shape)}
    np.lib.format.write_array_header_2_0(f, header)
    rows = 0
    for chunk in arr.chunks:
        chunk = np.ascontiguousarray(chunk, dtype=dtype)
        if chunk.shape[1:] != tuple(arr.shape[1:]):
            raise ValueError(f"member {key!r}: chunk shape {chunk.shape} does not match {arr.shape}")
        f.write(chunk.tobytes())
        rows += len(chunk)
    if rows != arr.shape[0]:
        raise ValueError(f"member {key!r}: chunks gave {rows} rows, shape says {arr.shape[0]}")


# -- reading ----------------------------------------------------------------------------------------


class NpzMemmap(np.memmap):
    """A memmap of an ``.npz`` member that pickles as (file, offset, shape): DataLoader workers started
    by spawn re-open the file instead of receiving a copy. Slices pickle as plain arrays."""

    _npz_source: tuple | None = None

    def __reduce__(self):
        src = self._npz_source
        if src is not None and self.shape == src[3]:
            return _open_memmap, src
        return np.asarray(self).__reduce__()


def _open_memmap(path: str, offset: int, dtype: str, shape: tuple, fortran: bool) -> np.ndarray:
    arr = NpzMemmap(path, dtype=np.dtype(dtype), mode="r", offset=offset, shape=shape, order="F" if fortran else "C")
    arr._npz_source = (path, offset, dtype, shape, fortran)
    return arr


def open_zip(path: str | Path) -> zipfile.ZipFile:
    """Open an ``.npz``; DataError when it is missing or not a readable zip."""
    if not Path(path).is_file():
        raise DataError(f"{path}: no such file")
    try:
        return zipfile.ZipFile(path)
    except Exception as e:  # damaged bytes fail in zipfile in many ways (BadZipFile, struct, unicode, ...)
        raise DataError(f"{path}: not a valid .npz (zip) file: {e}") from None


def array_names(path: str | Path) -> set[str]:
    """The names of the arrays an ``.npz`` holds (``x``, ``y_train``, ...), read from its zip directory."""
    with open_zip(path) as zf:
        return {n.removesuffix(".npy") for n in zf.namelist()}


def member_memmap(path: str | Path, zf: zipfile.ZipFile, member: str) -> np.ndarray | None:
    """Memory-map ``member`` of an open ``.npz``, or None when it is compressed (then read it)."""
    try:
        return _member_memmap(path, zf, member)
    except DataError:
        raise
    except Exception as e:  # a damaged .npy header fails in np.lib.format in many ways (even tokenize errors)
        raise DataError(f"{path}: cannot map member {member!r}: {e}") from None


def _member_memmap(path: str | Path, zf: zipfile.ZipFile, member: str) -> np.ndarray | None:
    info = zf.getinfo(member)
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    with open(path, "rb") as f:
        # local header: 30 fixed bytes, then name and extra field, whose lengths sit at bytes 26..30
        f.seek(info.header_offset)
        local = f.read(30)
        if len(local) != 30 or local[:4] != b"PK\x03\x04":
            raise DataError(f"{path}: member {member!r} has a broken zip header")
        name_len, extra_len = int.from_bytes(local[26:28], "little"), int.from_bytes(local[28:30], "little")
        f.seek(info.header_offset + 30 + name_len + extra_len)
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            return None
        offset = f.tell()
    if dtype.hasobject:
        raise DataError(f"{path}: member {member!r} holds Python objects; only plain arrays are accepted")
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    member_end = info.header_offset + 30 + name_len + extra_len + info.compress_size
    if offset + nbytes > min(member_end, os.path.getsize(path)):
        raise DataError(f"{path}: member {member!r} is truncated ({nbytes} bytes of data expected)")
    if nbytes == 0:
        return np.zeros(shape, dtype=dtype)
    return _open_memmap(str(path), offset, dtype.str, tuple(shape), fortran)


def read_member(path: Path, zf: zipfile.ZipFile, member: str) -> np.ndarray:
    """Read ``member`` of an open ``.npz`` into memory (plain arrays only)."""
    try:
        with zf.open(member) as f:
            return np.lib.format.read_array(f, allow_pickle=False)
    except Exception as e:  # as above, plus CRC mismatches and impossible sizes
        raise DataError(f"{path}: cannot read member {member!r}: {e}") from None


def valid_lengths(x: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Frames up to the all-zero tail of each sample of x [N, M, T, V, C] (0 for an all-zero sample)."""
    n, _, t = x.shape[:3]
    out = np.zeros(n, dtype=np.int64)
    if t == 0:
        return out
    for i in range(0, n, chunk):
        xs = np.asarray(x[i : i + chunk])
        nonzero = (xs != 0).any(axis=(1, 3, 4))  # [n, T]
        last = t - np.argmax(nonzero[:, ::-1], axis=1)
        out[i : i + len(xs)] = np.where(nonzero.any(axis=1), last, 0)
    return out


def check_finite(x: np.ndarray, names: np.ndarray, source: str, chunk: int = 256) -> None:
    """Raise DataError naming the first sample of x that holds NaN or inf (scans in chunks)."""
    for i in range(0, len(x), chunk):
        ok = np.isfinite(np.asarray(x[i : i + chunk])).reshape(min(chunk, len(x) - i), -1).all(axis=1)
        if not ok.all():
            j = i + int(np.argmin(ok))
            raise DataError(f"{source}: sample {str(names[j])!r} contains NaN or inf")

"""The vectors the store derives for a chunk, kept as ONE compact metadata string (Chroma metadata holds no bytes).

A chunk carries one vector per sentence (extractive answers) and, with the bundled stack, a
sparse vector (retrieval). Chroma 1.5 (embedded and server alike) stores every metadata
string twice, in its row and in its (key, string_value) index, whose entries spill past
~1 KB into whole 4 KB overflow pages; its collection schema can stop a key being *queried*
but the value is stored and indexed all the same. Measured on an N = 1,000 synthetic index
(3,291 chunks): the two strings `sentence_vectors` (3.0 KB) and `sparse` (1.4 KB) cost
15.8 KB of the 24.1 KB a chunk took. One string holding both, with the predictable bytes
compressed, costs 10.2 KB: the chunk 18.6 KB.

Lossless: the same float16 sentence values and sparse indices and float16 values as the two
former strings (`index.embed.encode_matrix`, `SparseVector.encode`), which still read, so an
index written before keeps answering the same. VECTORS_KEY's value is "v1:" + base64 of

  sparse part:    flags (u8: 1 = a sparse vector, 2 = int32 indices), n (u16), zlen (u32),
                  zlib(high bytes of the gaps, low bytes of the gaps, high bytes of the values), low bytes of the values
  sentence part:  n (u16), dim (u16), zlen (u32), zlib(high bytes of the values), low bytes of the values

A float16's high byte (sign, exponent, 2 mantissa bits) repeats across a vector and
compresses by a third; its low byte is noise and is stored as it is. Each part decodes alone.
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import numpy as np

from .embed import SparseVector, decode_matrix

VECTORS_KEY = "vectors"  # this format: sparse + sentence vectors in one string
SPARSE_KEY = "sparse"  # the former two keys, still read (SparseVector.encode, encode_matrix)
SENTENCE_VECTORS_KEY = "sentence_vectors"
STORED_KEYS = (VECTORS_KEY, SPARSE_KEY, SENTENCE_VECTORS_KEY)  # what a chunk's Document never shows

_PREFIX = "v1:"
_SPARSE_HEAD = struct.Struct("<BHI")
_SENTENCE_HEAD = struct.Struct("<HHI")
_HAS_SPARSE, _WIDE = 1, 2


def encode(sentence_vectors: np.ndarray, sparse: SparseVector | None) -> str:
    """Both vectors of one chunk as the value of VECTORS_KEY."""
    return _PREFIX + base64.b64encode(_sparse_part(sparse) + _sentence_part(sentence_vectors)).decode("ascii")


def complete(meta: dict[str, Any], needs_sparse: bool) -> bool:
    """Whether the metadata holds every vector a stack derives (either format), so that they can be reused."""
    text = meta.get(VECTORS_KEY)
    if isinstance(text, str) and text.startswith(_PREFIX):
        return not needs_sparse or bool(_raw(text)[0] & _HAS_SPARSE)
    return SENTENCE_VECTORS_KEY in meta and (SPARSE_KEY in meta or not needs_sparse)


def stored(meta: dict[str, Any], dim: int) -> str:
    """The chunk's vectors as VECTORS_KEY's value, whichever format they were stored in (for reuse)."""
    text = meta.get(VECTORS_KEY)
    if isinstance(text, str) and text.startswith(_PREFIX):
        return text
    return encode(sentence_vectors_of(meta, dim), sparse_of(meta))


def sparse_of(meta: dict[str, Any]) -> SparseVector | None:
    """The chunk's sparse vector (None: the stack has none, or nothing is stored)."""
    text = meta.get(VECTORS_KEY)
    if isinstance(text, str) and text.startswith(_PREFIX):
        return _read_sparse(_raw(text))[0]
    old = meta.get(SPARSE_KEY)
    return SparseVector.decode(str(old)) if old else None


def sentence_vectors_of(meta: dict[str, Any], dim: int) -> np.ndarray:
    """The chunk's sentence vectors, one row per sentence span (float32; none stored: zero rows)."""
    text = meta.get(VECTORS_KEY)
    if isinstance(text, str) and text.startswith(_PREFIX):
        raw = _raw(text)
        return _read_sentences(raw, _read_sparse(raw, values=False)[1], dim)
    old = meta.get(SENTENCE_VECTORS_KEY)
    return decode_matrix(str(old), dim) if old else np.zeros((0, dim), np.float32)


# --------------------------------------------------------------------------- the byte layout


def _planes(values: np.ndarray) -> tuple[bytes, bytes]:
    """High and low bytes of little-endian 16-bit values."""
    pairs = np.ascontiguousarray(values).view(np.uint8).reshape(-1, 2)
    return pairs[:, 1].tobytes(), pairs[:, 0].tobytes()


def _joined(high: bytes, low: bytes, dtype: str) -> np.ndarray:
    pairs = np.empty((len(low), 2), np.uint8)
    pairs[:, 0] = np.frombuffer(low, np.uint8)
    pairs[:, 1] = np.frombuffer(high, np.uint8)
    return pairs.reshape(-1).view(dtype)


def _sparse_part(sparse: SparseVector | None) -> bytes:
    if sparse is None:
        return _SPARSE_HEAD.pack(0, 0, 0)
    indices = np.asarray(sparse.indices, np.int64)
    gaps = np.diff(indices, prepend=0)
    values_high, values_low = _planes(np.asarray(sparse.values, "<f2"))
    if len(gaps) and (gaps.min() < 0 or gaps.max() > np.iinfo(np.uint16).max):
        flags, index_bytes = _HAS_SPARSE | _WIDE, indices.astype("<i4").tobytes()
    else:
        gaps_high, gaps_low = _planes(gaps.astype("<u2"))
        flags, index_bytes = _HAS_SPARSE, gaps_high + gaps_low
    packed = zlib.compress(index_bytes + values_high, 9)
    return _SPARSE_HEAD.pack(flags, len(indices), len(packed)) + packed + values_low


def _sentence_part(matrix: np.ndarray) -> bytes:
    matrix = np.asarray(matrix, "<f2")
    rows, dim = matrix.shape if matrix.ndim == 2 else (0, 0)
    high, low = _planes(matrix.reshape(-1))
    packed = zlib.compress(high, 9)
    return _SENTENCE_HEAD.pack(rows, dim, len(packed)) + packed + low


def _raw(text: str) -> bytes:
    return base64.b64decode(text[len(_PREFIX) :])


def _read_sparse(raw: bytes, *, values: bool = True) -> tuple[SparseVector | None, int]:
    """The sparse part (None when there is none) and where the sentence part starts."""
    flags, n, zlen = _SPARSE_HEAD.unpack_from(raw)
    start = _SPARSE_HEAD.size
    end = start + zlen + (n if flags & _HAS_SPARSE else 0)  # one low byte per value
    if not values or not flags & _HAS_SPARSE:
        return None, end
    packed = zlib.decompress(raw[start : start + zlen])
    index_size = 4 * n if flags & _WIDE else 2 * n
    if flags & _WIDE:
        indices = np.frombuffer(packed[:index_size], "<i4").astype(np.int32)
    else:
        gaps = _joined(packed[:n], packed[n:index_size], "<u2")
        indices = np.cumsum(gaps, dtype=np.int64).astype(np.int32)
    vector_values = _joined(packed[index_size:], raw[start + zlen : end], "<f2").astype(np.float32)
    return SparseVector(indices, vector_values), end


def _read_sentences(raw: bytes, start: int, dim: int) -> np.ndarray:
    rows, stored_dim, zlen = _SENTENCE_HEAD.unpack_from(raw, start)
    if not rows:
        return np.zeros((0, dim), np.float32)
    start += _SENTENCE_HEAD.size
    high = zlib.decompress(raw[start : start + zlen])
    low = raw[start + zlen : start + zlen + rows * stored_dim]
    return _joined(high, low, "<f2").astype(np.float32).reshape(rows, stored_dim)

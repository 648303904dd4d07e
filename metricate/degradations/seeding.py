"""One random generator per (run seed, file, degradation type).

Seeded through ``numpy.random.SeedSequence`` from a stable encoding of the three
(never Python's ``hash()``, which is salted per process), so a variant does not
depend on the worker, the process, or which other types or files were processed.
"""

from __future__ import annotations

import hashlib

import numpy as np


def file_identity(content_hash: str, X: np.ndarray, labels: np.ndarray) -> str:
    """The file's SHA-256 when it was loaded from a file; else one of its contents.

    A clustering built in memory has no file bytes; hashing its coordinates and
    labels (fixed byte order) gives the same identity on every machine.
    """
    if content_hash:
        return content_hash
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(X, dtype="<f8").tobytes())
    digest.update(np.ascontiguousarray(labels, dtype="<i8").tobytes())
    return digest.hexdigest()


def type_generator(random_seed: int, identity: str, type_name: str) -> np.random.Generator:
    """The generator of one degradation type on one file (``random_seed`` >= 0, checked
    by ``VariantPlan``)."""
    key = hashlib.sha256(f"{identity}\n{type_name}".encode()).digest()
    entropy = [random_seed, int.from_bytes(key, "big")]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def pair_sample_seed(random_seed: int, identity: str) -> int:
    """The seed of a file's pair sample above large_n (``identity`` from
    ``file_identity``): from the run seed and the file, never the processing order,
    so ``evaluate`` and ``generate`` with the same seed sample the same points."""
    digest = hashlib.sha256(f"{random_seed}\n{identity}\npair sample".encode()).digest()
    return int.from_bytes(digest[:8], "big")

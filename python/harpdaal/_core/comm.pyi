"""
local side of the collectives (no MPI)
"""
from __future__ import annotations
import collections.abc
import typing
__all__: list[str] = ['combine', 'default_destinations', 'pack', 'pack_alignment', 'packed_offsets', 'regroup_plan', 'ring_targets', 'rotation_sources', 'unpack']
def combine(dst: typing.Any, src: typing.Any, op: str, n_threads: typing.SupportsInt | typing.SupportsIndex = 1) -> None:
    """
    dst = op(dst, src) element-wise; op in 'sum', 'min', 'max'.
    """
def default_destinations(ids: typing.Any, n_ranks: typing.SupportsInt | typing.SupportsIndex, dest: typing.Any) -> None:
    """
    dest = ids mod n_ranks (ids must be >= 0).
    """
def pack(parts: collections.abc.Sequence, offsets: typing.Any, buffer: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    Copy each partition into buffer at its offset (uint8 buffer).
    """
def packed_offsets(nbytes: typing.Any, offsets: typing.Any) -> int:
    """
    offsets[i] = aligned byte offset of partition i, offsets[n] = total; returns the total.
    """
def regroup_plan(dest: typing.Any, nbytes: typing.Any, n_ranks: typing.SupportsInt | typing.SupportsIndex, order: typing.Any, counts: typing.Any, byte_counts: typing.Any, byte_displs: typing.Any) -> None:
    """
    Send order grouped by destination, per-rank counts, byte counts and displacements.
    """
def ring_targets(n_ranks: typing.SupportsInt | typing.SupportsIndex, shift: typing.SupportsInt | typing.SupportsIndex, targets: typing.Any) -> None:
    """
    targets[r] = (r + shift) mod n_ranks.
    """
def rotation_sources(targets: typing.Any, sources: typing.Any) -> None:
    """
    Validate that targets is a permutation and write its inverse into sources.
    """
def unpack(buffer: typing.Any, offsets: typing.Any, parts: collections.abc.Sequence, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    Copy each slot of buffer back into its partition.
    """
pack_alignment: int = 64

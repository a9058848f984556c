"""DensePose ground truth for training (torch tensors; ``Instances.gt_densepose``).

Conventions (COCO-DensePose):
- Points ``x``, ``y`` are box-relative on a 256-cell grid: 0..255 spans the
  instance's ground-truth box (XYWH) from its left/top edge to its right/bottom edge,
  ``x_abs = box_x0 + x / 256 * box_w``.
- ``i`` is the fine part index 1..24; ``u``, ``v`` are chart coordinates in 0..1.
- ``segm`` is the coarse segmentation rasterised from ``dp_masks`` on a 256x256
  grid of the box: uint8 labels 0..14 (0 = background).

:class:`DensePoseTargets` keeps one image's people packed in padded tensors (:class:`PackedDensePose`)
and a row index into them, so that what the detector does to an ``Instances`` field (index it by
the matched ground truth of every proposal, by a mask, move it to a device) is one tensor
operation, never a Python loop over people, and the losses read whole (R, K) point tables.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from app.backend.structures.box_grid import DP_GRID


@dataclass
class DensePoseInstance:
    """DensePose annotation of one person.

    Attributes:
        x, y: float32 tensors of shape (K,), box-relative 0..255.
        i: int64 tensor of shape (K,), fine part 1..24.
        u, v: float32 tensors of shape (K,), 0..1.
        segm: uint8 tensor of shape (256, 256) with coarse labels 0..14, or None.
    """

    x: torch.Tensor
    y: torch.Tensor
    i: torch.Tensor
    u: torch.Tensor
    v: torch.Tensor
    segm: torch.Tensor | None = None

    def __post_init__(self) -> None:
        k = self.x.shape[0]
        for name in ("y", "i", "u", "v"):
            if getattr(self, name).shape != (k,):
                raise ValueError(f"DensePose field {name} has shape {tuple(getattr(self, name).shape)}, expected ({k},)")
        if self.segm is not None and self.segm.shape != (DP_GRID, DP_GRID):
            raise ValueError(f"DensePose segm has shape {tuple(self.segm.shape)}, expected ({DP_GRID}, {DP_GRID})")

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def to(self, device: torch.device | str) -> DensePoseInstance:
        return DensePoseInstance(
            x=self.x.to(device),
            y=self.y.to(device),
            i=self.i.to(device),
            u=self.u.to(device),
            v=self.v.to(device),
            segm=None if self.segm is None else self.segm.to(device),
        )


@dataclass
class PackedDensePose:
    """The DensePose annotations of N people in padded tensors (K = most points of any of them).

    Attributes:
        x, y, u, v: float32 (N, K); i: int64 (N, K), 0 in the padding.
        count: int64 (N,) points of each person (the first ``count`` columns are real).
        segm: uint8 (N, 256, 256), zeros where a person has none.
        has_segm: bool (N,) which people have a ``segm``.
        present: bool (N,) which entries were annotations at all (False = None).
    """

    x: torch.Tensor
    y: torch.Tensor
    i: torch.Tensor
    u: torch.Tensor
    v: torch.Tensor
    count: torch.Tensor
    segm: torch.Tensor
    has_segm: torch.Tensor
    present: torch.Tensor

    FIELDS = ("x", "y", "i", "u", "v", "count", "segm", "has_segm", "present")

    @staticmethod
    def from_items(items: Sequence[DensePoseInstance | None]) -> PackedDensePose:
        n = len(items)
        k = max((len(it) for it in items if it is not None), default=0)
        floats = torch.zeros((4, n, k), dtype=torch.float32)
        parts = torch.zeros((n, k), dtype=torch.int64)
        count = torch.zeros(n, dtype=torch.int64)
        segm = torch.zeros((n, DP_GRID, DP_GRID), dtype=torch.uint8)
        has_segm = torch.zeros(n, dtype=torch.bool)
        present = torch.zeros(n, dtype=torch.bool)
        for r, it in enumerate(items):
            if it is None:
                continue
            it = it.to("cpu")
            m = len(it)
            present[r], count[r] = True, m
            for c, name in enumerate(("x", "y", "u", "v")):
                floats[c, r, :m] = getattr(it, name).float()
            parts[r, :m] = it.i.long()
            if it.segm is not None:
                segm[r] = it.segm
                has_segm[r] = True
        return PackedDensePose(floats[0], floats[1], parts, floats[2], floats[3], count, segm, has_segm, present)

    def to(self, device: torch.device | str) -> PackedDensePose:
        return PackedDensePose(*(getattr(self, f).to(device) for f in self.FIELDS))

    @staticmethod
    def cat(parts: Sequence[PackedDensePose]) -> PackedDensePose:
        """Rows of all ``parts`` in order (point columns padded to the widest)."""
        k = max((p.x.shape[1] for p in parts), default=0)

        def pad(t: torch.Tensor) -> torch.Tensor:
            return F.pad(t, (0, k - t.shape[1])) if t.shape[1] < k else t

        out = {}
        for f in PackedDensePose.FIELDS:
            ts = [getattr(p, f) for p in parts]
            out[f] = torch.cat([pad(t) for t in ts] if f in ("x", "y", "i", "u", "v") else ts)
        return PackedDensePose(**out)


class DensePoseTargets:
    """Per-image DensePose annotations, one entry per instance (None = unannotated).

    Built from a list of :class:`DensePoseInstance` (or None) and stored as
    ``Instances.gt_densepose``. It supports everything ``Instances`` needs of a field: ``len``,
    indexing by int (a :class:`DensePoseInstance` or None), slice, bool mask or index tensor,
    ``to(device)`` and ``cat``. Indexing by a tensor only composes :attr:`index` (the rows of
    :attr:`packed` the entries are), so it is one tensor operation on the device, without a
    host-device synchronisation for index tensors. The losses read the packed tensors of the
    entries with :meth:`gather`.

    Args:
        items: the annotations (packed into :attr:`packed`), or
        packed, index: packed annotations and the rows of them these entries are (default: all).
    """

    def __init__(
        self,
        items: Sequence[DensePoseInstance | None] = (),
        *,
        packed: PackedDensePose | None = None,
        index: torch.Tensor | None = None,
    ) -> None:
        if packed is None:
            packed = PackedDensePose.from_items(list(items))
        if index is None:
            index = torch.arange(len(packed.count), dtype=torch.int64, device=packed.count.device)
        self.packed = packed
        self.index = index

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def __iter__(self) -> Iterator[DensePoseInstance | None]:
        return (self[k] for k in range(len(self)))

    def __getitem__(self, index: int | slice | torch.Tensor | Sequence[int]) -> DensePoseTargets | DensePoseInstance | None:
        if isinstance(index, int):
            return self._instance(int(self.index[index]))
        if isinstance(index, slice):
            return DensePoseTargets(packed=self.packed, index=self.index[index])
        if not isinstance(index, torch.Tensor):
            index = torch.as_tensor(list(index), dtype=torch.int64)
        if index.dtype == torch.bool and index.numel() != len(self):
            raise IndexError(f"mask of length {index.numel()} for {len(self)} instances")
        return DensePoseTargets(packed=self.packed, index=self.index[index.to(self.index.device)])

    def _instance(self, row: int) -> DensePoseInstance | None:
        p = self.packed
        if not bool(p.present[row]):
            return None
        m = int(p.count[row])
        return DensePoseInstance(
            x=p.x[row, :m], y=p.y[row, :m], i=p.i[row, :m], u=p.u[row, :m], v=p.v[row, :m],
            segm=p.segm[row] if bool(p.has_segm[row]) else None,
        )

    def gather(self) -> PackedDensePose:
        """The packed annotations of these entries, in order (one gather per tensor)."""
        return PackedDensePose(*(getattr(self.packed, f)[self.index] for f in PackedDensePose.FIELDS))

    def has_annotation(self) -> torch.Tensor:
        """Bool tensor of shape (N,) on the targets' device: which instances carry DensePose points."""
        return self.packed.count[self.index] > 0

    def has_segm(self) -> torch.Tensor:
        """Bool tensor of shape (N,) on the targets' device: which instances carry a ``segm``."""
        return self.packed.has_segm[self.index]

    def to(self, device: torch.device | str) -> DensePoseTargets:
        return DensePoseTargets(packed=self.packed.to(device), index=self.index.to(device))

    @staticmethod
    def cat(lists: Sequence[DensePoseTargets]) -> DensePoseTargets:
        if not lists:
            return DensePoseTargets([])
        if all(t.packed is lists[0].packed for t in lists):
            return DensePoseTargets(packed=lists[0].packed, index=torch.cat([t.index for t in lists]))
        return DensePoseTargets(packed=PackedDensePose.cat([t.gather() for t in lists]))

    def __repr__(self) -> str:
        n = int(self.packed.present[self.index].sum()) if len(self) else 0
        return f"DensePoseTargets(num_instances={len(self)}, annotated={n})"

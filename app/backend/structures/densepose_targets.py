"""DensePose ground truth for training (torch tensors; ``Instances.gt_densepose``).

Conventions (COCO-DensePose):
- Points ``x``, ``y`` are box-relative on a 256-cell grid: 0..255 spans the
  instance's ground-truth box (XYWH) from its left/top edge to its right/bottom edge,
  ``x_abs = box_x0 + x / 256 * box_w``.
- ``i`` is the fine part index 1..24; ``u``, ``v`` are chart coordinates in 0..1.
- ``segm`` is the coarse segmentation rasterised from ``dp_masks`` on a 256x256
  grid of the box: uint8 labels 0..14 (0 = background).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch

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
class DensePoseTargets:
    """Per-image list of DensePose annotations, one entry per instance (None = unannotated).

    Stored as ``Instances.gt_densepose``; supports everything ``Instances`` needs of a
    field: ``len``, indexing by int, slice, bool mask or index tensor, ``to(device)``
    and ``cat``.
    """

    items: list[DensePoseInstance | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[DensePoseInstance | None]:
        return iter(self.items)

    def __getitem__(self, index: int | slice | torch.Tensor | Sequence[int]) -> DensePoseTargets | DensePoseInstance | None:
        if isinstance(index, int):
            return self.items[index]
        if isinstance(index, slice):
            return DensePoseTargets(self.items[index])
        if isinstance(index, torch.Tensor):
            if index.dtype == torch.bool:
                if index.numel() != len(self.items):
                    raise IndexError(f"mask of length {index.numel()} for {len(self.items)} instances")
                index = index.nonzero().flatten()
            return DensePoseTargets([self.items[int(k)] for k in index.tolist()])
        return DensePoseTargets([self.items[int(k)] for k in index])

    def has_annotation(self) -> torch.Tensor:
        """Bool tensor of shape (N,): which instances carry DensePose points."""
        return torch.tensor([it is not None and len(it) > 0 for it in self.items], dtype=torch.bool)

    def to(self, device: torch.device | str) -> DensePoseTargets:
        return DensePoseTargets([None if it is None else it.to(device) for it in self.items])

    @staticmethod
    def cat(lists: Sequence[DensePoseTargets]) -> DensePoseTargets:
        return DensePoseTargets([it for lst in lists for it in lst.items])

    def __repr__(self) -> str:
        n = sum(it is not None for it in self.items)
        return f"DensePoseTargets(num_instances={len(self.items)}, annotated={n})"

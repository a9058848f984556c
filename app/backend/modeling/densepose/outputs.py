"""DensePose predictor outputs (per ROI, box-relative heatmaps) and their compact per-instance form."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from app.backend.errors import ConfigError
from app.backend.structures import DensePoseResult


def check_person_threshold(value: float, name: str = "MODEL.ROI_DENSEPOSE_HEAD.PERSON_THRESHOLD") -> float:
    """``value`` as a float when it lies strictly between 0 and 1 (0 or 1 would call every pixel one thing).

    Raises:
        ConfigError (a ValueError) naming ``name`` otherwise.
    """
    t = float(value)
    if not 0.0 < t < 1.0:
        raise ConfigError(f"{name} must lie strictly between 0 and 1, got {value}")
    return t


@dataclass
class DensePoseOutputs:
    """Raw chart predictions for N ROIs on a box-relative heatmap of side Hh x Wh.

    The heatmap spans each ROI's box exactly (as ROIAlign pools it), so the outputs stay
    valid when boxes are rescaled (``detector_postprocess``).

    Attributes:
        coarse_segm: (N, K, Hh, Wh) logits, K = 2 (background/person) or 15 (legacy).
        fine_segm: (N, 25, Hh, Wh) logits of the 24 parts + background.
        u, v: (N, 25, Hh, Wh) chart coordinates per part (trained towards 0..1).
        valid: optional bool (N,): False marks ROIs that were not evaluated
            (score below ``MODEL.ROI_DENSEPOSE_HEAD.MIN_SCORE``); their result is None.
        person_threshold: a pixel belongs to the person when P(person) = 1 - P(background)
            of ``coarse_segm`` exceeds this (``MODEL.ROI_DENSEPOSE_HEAD.PERSON_THRESHOLD``;
            0.5 is DensePose's argmax for 2 channels).

    Usable as an ``Instances`` field: ``len``, indexing (int, slice, bool mask, index
    tensor), ``to(device)`` and ``cat``.
    """

    coarse_segm: torch.Tensor
    fine_segm: torch.Tensor
    u: torch.Tensor
    v: torch.Tensor
    valid: torch.Tensor | None = None
    person_threshold: float = 0.5

    def __len__(self) -> int:
        return int(self.coarse_segm.shape[0])

    def __repr__(self) -> str:
        c, f = self.coarse_segm.shape, self.fine_segm.shape
        return f"DensePoseOutputs(num_rois={c[0]}, coarse_segm={tuple(c[1:])}, fine_segm/u/v={tuple(f[1:])})"

    def __getitem__(self, item: int | slice | torch.Tensor) -> DensePoseOutputs:
        if isinstance(item, int):
            item = slice(item, item + 1)
        return DensePoseOutputs(
            self.coarse_segm[item],
            self.fine_segm[item],
            self.u[item],
            self.v[item],
            None if self.valid is None else self.valid[item],
            self.person_threshold,
        )

    def to(self, device: torch.device | str) -> DensePoseOutputs:
        return DensePoseOutputs(
            self.coarse_segm.to(device),
            self.fine_segm.to(device),
            self.u.to(device),
            self.v.to(device),
            None if self.valid is None else self.valid.to(device),
            self.person_threshold,
        )

    @staticmethod
    def cat(parts: Sequence[DensePoseOutputs]) -> DensePoseOutputs:
        """Rows of all ``parts`` in order; they must share one ``person_threshold``."""
        thresholds = {p.person_threshold for p in parts}
        if len(thresholds) > 1:
            raise ValueError(f"cannot concatenate DensePose outputs with person thresholds {sorted(thresholds)}")
        valid = None
        if any(p.valid is not None for p in parts):
            valid = torch.cat(
                [
                    p.valid if p.valid is not None else torch.ones(len(p), dtype=torch.bool, device=p.u.device)
                    for p in parts
                ]
            )
        return DensePoseOutputs(
            torch.cat([p.coarse_segm for p in parts]),
            torch.cat([p.fine_segm for p in parts]),
            torch.cat([p.u for p in parts]),
            torch.cat([p.v for p in parts]),
            valid,
            thresholds.pop() if thresholds else 0.5,
        )

    def split(self, counts: Sequence[int]) -> list[DensePoseOutputs]:
        """Split the rows into consecutive chunks of ``counts`` (one per image)."""
        out, start = [], 0
        for n in counts:
            out.append(self[start : start + n])
            start += n
        return out


def densepose_to_results(
    outputs: DensePoseOutputs, boxes_xyxy: torch.Tensor | np.ndarray
) -> list[DensePoseResult | None]:
    """Turn raw outputs into one compact :class:`DensePoseResult` per box (None where not valid).

    Each ROI's maps are resampled bilinearly to the box size in pixels
    (h = round(y1 - y0), w = round(x1 - x0), at least 1), then
    ``labels = argmax(fine_segm) * (1 - softmax(coarse_segm)[0] > outputs.person_threshold)``
    (0 = background; with 2 channels and the default 0.5 this is DensePose's
    ``argmax(coarse_segm) > 0``) and
    ``uv[:, y, x]`` is U/V of the chosen part at that pixel, clipped to 0..1 (0 on background).

    Args:
        outputs: N ROIs.
        boxes_xyxy: (N, 4) XYXY_ABS boxes the outputs belong to (after any rescaling).
    """
    boxes = torch.as_tensor(boxes_xyxy, dtype=torch.float32).reshape(-1, 4).cpu()
    if len(boxes) != len(outputs):
        raise ValueError(f"{len(boxes)} boxes for {len(outputs)} DensePose outputs")
    results: list[DensePoseResult | None] = []
    for k in range(len(outputs)):
        if outputs.valid is not None and not bool(outputs.valid[k]):
            results.append(None)
            continue
        x0, y0, x1, y1 = (float(c) for c in boxes[k])
        w = max(round(x1 - x0), 1)
        h = max(round(y1 - y0), 1)
        with torch.no_grad():
            maps = torch.cat([outputs.coarse_segm[k], outputs.fine_segm[k], outputs.u[k], outputs.v[k]]).float()
            maps = F.interpolate(maps[None], size=(h, w), mode="bilinear", align_corners=False)[0]
            kc = outputs.coarse_segm.shape[1]
            nf = outputs.fine_segm.shape[1]
            coarse, fine = maps[:kc], maps[kc : kc + nf]
            u, v = maps[kc + nf : kc + 2 * nf], maps[kc + 2 * nf :]
            person = 1.0 - coarse.softmax(0)[0] > outputs.person_threshold
            labels = fine.argmax(0) * person
            idx = labels[None].long()
            uv = torch.stack([u.gather(0, idx)[0], v.gather(0, idx)[0]]).clamp(0.0, 1.0)
            uv = uv * (labels > 0)
        results.append(
            DensePoseResult(
                labels=labels.to(torch.uint8).cpu().numpy(),
                uv=uv.cpu().numpy().astype(np.float32),
                box_xyxy=(x0, y0, x1, y1),
            )
        )
    return results

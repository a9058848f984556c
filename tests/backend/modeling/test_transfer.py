"""Teacher-student transfer: frozen image teacher outside the student's state, loss on P2..P5."""

from __future__ import annotations

import pytest
import torch
from detectron2.utils.events import EventStorage
from torch.nn import functional as F

from app.backend.config import ConfigError
from app.backend.errors import CheckpointError
from app.backend.modeling import build_model
from tests.backend.modeling.conftest import frame, person, tiny_cfg


@pytest.fixture
def teacher_files(tmp_path):
    """A tiny image-modality model with random weights: its config YAML and a .pth checkpoint."""
    cfg = tiny_cfg("INPUT.MODALITY", "image", "MODEL.ROI_KP_DP_REFINE.ENABLED", "False")
    torch.manual_seed(5)
    teacher = build_model(cfg)
    cfg_path = tmp_path / "teacher.yaml"
    cfg_path.write_text(cfg.dump())
    weights = tmp_path / "teacher.pth"
    torch.save({"model": teacher.state_dict()}, weights)
    return cfg_path, weights, teacher.state_dict()


def _student(teacher_files, *extra):
    cfg_path, weights, _ = teacher_files
    opts = ["MODEL.TRANSFER.ENABLED", "True", "MODEL.TRANSFER.TEACHER_CONFIG", str(cfg_path)]
    opts += ["MODEL.TRANSFER.TEACHER_WEIGHTS", str(weights), *extra]
    torch.manual_seed(0)
    return build_model(tiny_cfg(*opts))


def _paired_frames():
    # the RGB frame (96x96) is larger than the MTN output (64x64): teacher maps get resized
    out = []
    for k, box in enumerate([(10, 6, 40, 58), (30, 10, 60, 60)]):
        f = frame([person(box, seed=k)], seed=k)
        f["image"] = torch.rand(3, 96, 96, generator=torch.Generator().manual_seed(k)) * 255
        out.append(f)
    return out


def test_teacher_is_frozen_loaded_and_outside_the_student_state(teacher_files):
    _, _, saved = teacher_files
    model = _student(teacher_files)
    teacher = model.transfer.teacher
    assert not any(k.startswith(("transfer", "teacher")) for k in model.state_dict())
    assert len(list(model.parameters())) == len(list(build_model(tiny_cfg()).parameters()))
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    torch.testing.assert_close(
        teacher.state_dict()["backbone.fpn_output2.weight"], saved["backbone.fpn_output2.weight"]
    )
    model.train()
    assert not teacher.training  # model.train() does not reach the teacher
    model.to(torch.float64)  # .to() does reach it
    assert next(teacher.parameters()).dtype == torch.float64
    model.to(torch.float32)
    assert next(teacher.parameters()).dtype == torch.float32


def test_transfer_loss_value_and_gradient_to_the_mtn(teacher_files):
    model = _student(teacher_files)
    model.train()
    frames = _paired_frames()
    with EventStorage():
        losses = model(frames)
    assert "loss_transfer" in losses and losses["loss_transfer"] > 0
    # recompute: 0.1 * sum_k MSE(student P_k, teacher P_k resized to the student's size)
    with torch.no_grad():
        student = model.backbone(model.preprocess_image(frames).tensor)
        teacher = model.transfer.teacher
        tfeat = teacher.backbone(teacher.preprocess_image(frames).tensor)
        want = sum(
            F.mse_loss(student[k], F.interpolate(tfeat[k], size=student[k].shape[-2:], mode="bilinear"))
            for k in ("p2", "p3", "p4", "p5")
        )
    assert losses["loss_transfer"].item() == pytest.approx(0.1 * want.item(), rel=1e-4)
    grads = torch.autograd.grad(
        losses["loss_transfer"], list(model.mtn.parameters()), allow_unused=True, retain_graph=True
    )
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    losses["loss_transfer"].backward()
    assert all(p.grad is None for p in model.transfer.teacher.parameters())


def test_transfer_needs_the_paired_frame(teacher_files):
    model = _student(teacher_files)
    model.train()
    with EventStorage(), pytest.raises(ValueError, match="paired RGB frame"):
        model([frame([person((10, 6, 40, 58))])])


def test_transfer_configuration_errors(teacher_files, tmp_path):
    cfg_path, weights, _ = teacher_files
    with pytest.raises(ConfigError, match="TEACHER_CONFIG"):
        build_model(tiny_cfg("MODEL.TRANSFER.ENABLED", "True"))
    with pytest.raises(ConfigError, match="TEACHER_WEIGHTS"):
        build_model(tiny_cfg("MODEL.TRANSFER.ENABLED", "True", "MODEL.TRANSFER.TEACHER_CONFIG", str(cfg_path)))
    missing = tmp_path / "nope.pth"
    with pytest.raises(CheckpointError, match="not found"):
        _student((cfg_path, missing, None))
    headless = tmp_path / "heads_only.pth"
    torch.save(
        {"model": {k: v for k, v in torch.load(weights)["model"].items() if not k.startswith("backbone.")}}, headless
    )
    with pytest.raises(CheckpointError, match="backbone weights"):
        _student((cfg_path, headless, None))

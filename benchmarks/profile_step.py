"""Where a training step of demo_cpu goes: torch.profiler time per component, forward and backward.

Builds the real trainer (demo_cpu.yaml, a small generated demo set unless ``--demo-root``), warms
it up, times ``--timed`` plain steps (the trainer's own ``run_step``, no profiler), then profiles
``--steps`` steps in which each component runs inside a ``torch.profiler.record_function`` scope:

    data, MTN (translate), loss_mtn_parts, backbone, RPN (its anchor labelling and losses as a
    sub-row), ROI sampling, box head (its losses as a sub-row), DensePose ROI selection, keypoint
    head, DensePose head, refinement, loss_keypoint, loss_densepose, zero_grad, backward,
    metrics (detectron2's ``_write_metrics``), optimizer

Scopes are put on the live model's methods from outside (no change to the code measured). A
backward op is credited to the component whose forward op created it (matched by the autograd
sequence number), so each row has forward and backward time. Also counted per component: the
ops that make a GPU wait for the host, or the host for the GPU (``aten::_local_scalar_dense``:
``.item()``, ``int()``, ``bool()`` of a tensor; ``aten::nonzero``: boolean indexing,
``nonzero``; ``aten::unique``, ``aten::masked_select``, ``aten::repeat_interleave``): on a GPU each
is a host-device synchronisation.

With ``--pretrain`` it profiles MTN pretraining steps instead (batch gather, MTN, loss, backward,
optimizer).

Usage::

    ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 WDS_CPU_BF16=0 OMP_WAIT_POLICY=PASSIVE \\
        .venv/bin/python benchmarks/profile_step.py [--steps 10] [--timed 20] [--pretrain] [KEY VALUE ...]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from detectron2.utils.events import EventStorage
from torch.profiler import ProfilerActivity, profile, record_function

from app.backend.config import builtin_config, load_config
from app.backend.data import generate_demo_dataset, register_datasets
from app.backend.engine import Trainer
from app.backend.engine.trainer import CPUAutocastTrainer
from benchmarks.machine_info import describe
from benchmarks.scratch import scratch_dir

PREFIX = "wds::"
SYNC_OPS = ("aten::_local_scalar_dense", "aten::nonzero", "aten::unique", "aten::_unique2", "aten::masked_select",
            "aten::repeat_interleave")


def scoped(name: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with record_function(PREFIX + name):
            return fn(*args, **kwargs)

    return wrapper


def wrap_attr(owner, attr: str, name: str) -> bool:
    """Put ``owner.attr`` (a method or function) inside a scope; False when it does not exist."""
    fn = getattr(owner, attr, None)
    if fn is None:
        return False
    if isinstance(fn, torch.nn.Module):  # a child module cannot be replaced by a function: wrap its forward
        owner, attr, fn = fn, "forward", fn.forward
    setattr(owner, attr, scoped(name, fn))
    return True


def instrument(model) -> None:
    """Scopes around the components of a CombinedModel (instance attributes and module functions)."""
    import app.backend.modeling.meta_arch as meta_arch
    import app.backend.modeling.roi_heads as roi_heads_mod

    inner = getattr(model, "module", model)
    wrap_attr(inner, "translate", "MTN")
    wrap_attr(meta_arch, "part_target_loss", "loss_mtn_parts")
    wrap_attr(inner.backbone, "forward", "backbone")
    rpn = inner.proposal_generator
    wrap_attr(rpn, "forward", "RPN")
    wrap_attr(rpn, "label_and_sample_anchors", "RPN/anchor labels + losses")
    wrap_attr(rpn, "losses", "RPN/anchor labels + losses")
    heads = inner.roi_heads
    wrap_attr(heads, "label_and_sample_proposals", "ROI sampling")
    wrap_attr(heads, "_forward_box", "box head")
    wrap_attr(heads.box_predictor, "losses", "box head/losses")
    wrap_attr(heads, "_select_densepose_rois", "DensePose ROI selection")
    wrap_attr(heads, "_keypoint_features", "keypoint head")
    wrap_attr(heads, "_keypoint_logits", "keypoint head")
    wrap_attr(heads, "_densepose_features", "DensePose head")
    wrap_attr(heads, "densepose_predictor", "DensePose head")
    wrap_attr(heads, "kp_dp_refine", "refinement")
    for fn_name in ("keypoint_rcnn_loss", "keypoint_loss"):
        wrap_attr(roi_heads_mod, fn_name, "loss_keypoint")
    wrap_attr(heads, "densepose_loss", "loss_densepose")


def scope_of(event) -> str | None:
    """The innermost ``wds::`` scope an event ran in (its own name if it is one)."""
    e = event
    while e is not None:
        if e.name.startswith(PREFIX):
            return e.name[len(PREFIX):]
        e = e.cpu_parent
    return None


def attribute(prof) -> tuple[dict[str, float], dict[str, float], dict[str, dict[str, int]]]:
    """(forward us by scope, exclusive of nested scopes; backward us by scope; sync ops by scope)."""
    events = [e for e in prof.events() if not e.is_async]
    fwd: dict[str, float] = defaultdict(float)
    bwd: dict[str, float] = defaultdict(float)
    syncs: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seq_scope: dict[int, str] = {}
    for e in events:
        if e.name.startswith(PREFIX):
            name = e.name[len(PREFIX):]
            nested = sum(c.time_range.elapsed_us() for c in _child_scopes(e))
            fwd[name] += e.time_range.elapsed_us() - nested
        elif e.name.startswith("autograd::engine::evaluate_function"):
            continue
        elif e.sequence_nr >= 0:
            scope = scope_of(e)
            if scope and e.sequence_nr not in seq_scope:
                seq_scope[e.sequence_nr] = scope
        if e.name in SYNC_OPS:
            syncs[scope_of(e) or "other"][e.name] += 1
    for e in events:
        if e.name.startswith("autograd::engine::evaluate_function") and e.sequence_nr >= 0:
            owner = seq_scope.get(e.sequence_nr, "backward (unattributed)")
            bwd[owner] += e.time_range.elapsed_us()
    total_attributed = sum(v for k, v in bwd.items())
    fwd["backward"] -= total_attributed  # the engine's own time stays in the backward row
    return fwd, bwd, syncs


def _child_scopes(event):
    """The outermost ``wds::`` scopes nested inside ``event``."""
    out, stack = [], list(event.cpu_children)
    while stack:
        c = stack.pop()
        if c.name.startswith(PREFIX):
            out.append(c)
        else:
            stack.extend(c.cpu_children)
    return out


def profiled_step(trainer, autocast: bool) -> None:
    """One step as SimpleTrainer/CPUAutocastTrainer.run_step does it, with scopes."""
    loop = trainer._trainer
    model, optimizer = loop.model, loop.optimizer
    with record_function(PREFIX + "data"):
        t = time.perf_counter()
        data = next(loop._data_loader_iter)
        data_time = time.perf_counter() - t
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else contextlib.nullcontext()
    with record_function(PREFIX + "forward (rest)"), ctx:
        loss_dict = model(data)
    losses = sum(v.float() for v in loss_dict.values())
    with record_function(PREFIX + "zero_grad"):
        optimizer.zero_grad()
    with record_function(PREFIX + "backward"):
        losses.backward()
    with record_function(PREFIX + "metrics"):
        loop._write_metrics(loss_dict, data_time)
    with record_function(PREFIX + "optimizer"):
        optimizer.step()


def profile_pretrain_step(trainer, samples, batch: int, optimizer, gen, autocast: bool) -> None:
    from app.backend.modeling.mtn_target import part_image_loss

    inner = getattr(trainer.model, "module", trainer.model)
    with record_function(PREFIX + "batch gather"):
        index = torch.randint(0, len(samples), (batch,), generator=gen)
        inputs, labels, weight = samples.batch(index, torch.device("cpu"))
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else contextlib.nullcontext()
    with record_function(PREFIX + "MTN"), ctx:
        out = inner.translate(inputs)
    with record_function(PREFIX + "loss_mtn_parts"):
        loss = part_image_loss(out, labels, weight, float(trainer.cfg.MODEL.MTN.PARTS_BODY_WEIGHT))
        float(loss)
    with record_function(PREFIX + "zero_grad"):
        optimizer.zero_grad(set_to_none=True)
    with record_function(PREFIX + "backward"):
        loss.backward()
    with record_function(PREFIX + "optimizer"):
        optimizer.step()


def print_table(fwd, bwd, syncs, steps: int, step_ms: float) -> None:
    rows = sorted(set(fwd) | set(bwd), key=lambda k: -(fwd.get(k, 0) + bwd.get(k, 0)))
    total = sum(fwd.values()) + sum(bwd.values())
    print("\n| component | forward ms | backward ms | total ms | share | sync ops per step |")
    print("|---|---|---|---|---|---|")
    for k in rows:
        f, b = fwd.get(k, 0.0) / steps / 1e3, bwd.get(k, 0.0) / steps / 1e3
        s = syncs.get(k, {})
        stext = ", ".join(f"{n.split('::')[1]} {c / steps:g}" for n, c in sorted(s.items())) or "0"
        print(f"| {k} | {f:.1f} | {b:.1f} | {f + b:.1f} | {(f + b) / (total / steps / 1e3) * 100:.1f} % | {stext} |")
    other_syncs = {k: v for k, v in syncs.items() if k not in rows}
    for k, s in other_syncs.items():
        print(f"| {k} (outside the scopes) | | | | | {', '.join(f'{n} {c / steps:g}' for n, c in s.items())} |")
    all_syncs = sum(c for s in syncs.values() for c in s.values()) / steps
    print(f"| **step (profiled)** | | | {total / steps / 1e3:.1f} | 100 % | {all_syncs:g} |")
    print(f"\nplain step without the profiler: median {step_ms:.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10, help="profiled steps")
    ap.add_argument("--timed", type=int, default=20, help="plain steps timed without the profiler")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--demo-root", default="", help="an existing demo dataset (default: 40 frames generated)")
    ap.add_argument("--pretrain", action="store_true", help="profile MTN pretraining steps instead")
    ap.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides of demo_cpu.yaml")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    tmp = scratch_dir("profile_step_")
    root = Path(args.demo_root) if args.demo_root else tmp / "demo"
    if not args.demo_root:
        generate_demo_dataset(root, num_train=40, num_val=4, seed=0)
    opts = ["DATASETS.DEMO.ROOT", str(root), "OUTPUT_DIR", str(tmp / "out"), "TEST.EVAL_PERIOD", "0",
            "SOLVER.MTN_PRETRAIN.ITERS", "0", "SOLVER.CHECKPOINT_PERIOD", "100000", *args.opts]
    cfg = load_config(builtin_config("demo_cpu"), opts)
    register_datasets(cfg)
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=False)
    autocast = isinstance(trainer._trainer, CPUAutocastTrainer)
    print(describe())
    print(f"config: demo_cpu.yaml {' '.join(args.opts)}; loop in {'bfloat16 autocast' if autocast else 'float32'}")
    if args.pretrain:
        run_pretrain(trainer, cfg, args, autocast)
        return
    loop = trainer._trainer
    with EventStorage(0) as storage:
        loop.storage = trainer.storage = storage
        it = 0
        for _ in range(args.warmup):
            loop.iter = storage.iter = it
            loop.run_step()
            it += 1
        times = []
        for _ in range(args.timed):
            loop.iter = storage.iter = it
            t = time.perf_counter()
            loop.run_step()
            times.append(time.perf_counter() - t)
            it += 1
        instrument(loop.model)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(args.steps):
                loop.iter = storage.iter = it
                profiled_step(trainer, autocast)
                it += 1
    fwd, bwd, syncs = attribute(prof)
    print_table(fwd, bwd, syncs, args.steps, statistics.median(times) * 1e3)


def run_pretrain(trainer, cfg, args, autocast: bool) -> None:
    from app.backend.engine.mtn_pretrain import build_mtn_optimizer, collect_part_samples

    samples = collect_part_samples(cfg, int(cfg.SOLVER.MTN_PRETRAIN.MAX_SAMPLES))
    batch = int(cfg.SOLVER.MTN_PRETRAIN.IMS_PER_BATCH)
    optimizer = build_mtn_optimizer(cfg, trainer.model)
    gen = torch.Generator().manual_seed(0)
    for _ in range(args.warmup):
        profile_pretrain_step(trainer, samples, batch, optimizer, gen, autocast)
    times = []
    for _ in range(args.timed):
        t = time.perf_counter()
        profile_pretrain_step(trainer, samples, batch, optimizer, gen, autocast)
        times.append(time.perf_counter() - t)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            profile_pretrain_step(trainer, samples, batch, optimizer, gen, autocast)
    fwd, bwd, syncs = attribute(prof)
    print(f"MTN pretraining, {batch} samples a step, {len(samples)} samples held")
    print_table(fwd, bwd, syncs, args.steps, statistics.median(times) * 1e3)


if __name__ == "__main__":
    main()

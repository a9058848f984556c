"""Multi-process (DDP) launch on GPUs through detectron2's ``launch``, and on CPUs with gloo.

detectron2 v0.6's ``launch`` always initialises NCCL and asserts CUDA is available,
so on a machine without CUDA :func:`launch` spawns the workers itself, mirroring
detectron2's ``_distributed_worker`` (global rank, per-machine process group in
``comm._LOCAL_PROCESS_GROUP``, a first barrier) but with the ``gloo`` backend. With
CUDA it hands over to detectron2 unchanged (NCCL, one GPU per process).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from detectron2.engine import launch as d2_launch
from detectron2.utils import comm

DEFAULT_TIMEOUT = timedelta(minutes=30)

logger = logging.getLogger(__name__)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch(
    main_func: Callable[..., Any],
    num_gpus_per_machine: int,
    num_machines: int = 1,
    machine_rank: int = 0,
    dist_url: str | None = "auto",
    args: tuple = (),
    timeout: timedelta = DEFAULT_TIMEOUT,
    use_cuda: bool | None = None,
) -> None:
    """Run ``main_func(*args)`` in ``num_gpus_per_machine`` processes on this machine.

    Args:
        num_gpus_per_machine: processes on this machine (one per GPU; on CPU, one per
            process you want to train with).
        num_machines, machine_rank, dist_url: as detectron2's ``launch``
            (``dist_url="auto"`` picks a free local port; multi-machine jobs need
            ``tcp://HOST:PORT`` of machine 0).
        use_cuda: None = NCCL on CUDA when available, else gloo on CPU.
    """
    if use_cuda is None:
        use_cuda = torch.cuda.is_available()
    if use_cuda:
        d2_launch(main_func, num_gpus_per_machine, num_machines, machine_rank, dist_url, args=args, timeout=timeout)
        return
    world_size = num_machines * num_gpus_per_machine
    if world_size <= 1:
        main_func(*args)
        return
    if not dist_url or dist_url == "auto":
        if num_machines != 1:
            raise ValueError("dist_url=auto works on one machine only; pass --dist-url tcp://HOST:PORT")
        dist_url = f"tcp://127.0.0.1:{_free_port()}"
    mp.spawn(
        _cpu_worker,
        nprocs=num_gpus_per_machine,
        args=(main_func, world_size, num_gpus_per_machine, machine_rank, dist_url, args, timeout),
        daemon=False,
    )


def _cpu_worker(
    local_rank: int,
    main_func: Callable[..., Any],
    world_size: int,
    procs_per_machine: int,
    machine_rank: int,
    dist_url: str,
    args: tuple,
    timeout: timedelta,
) -> None:
    global_rank = machine_rank * procs_per_machine + local_rank
    try:
        dist.init_process_group(
            backend="gloo", init_method=dist_url, world_size=world_size, rank=global_rank, timeout=timeout
        )
    except Exception:
        logger.error("Process group URL: %s", dist_url)
        raise
    assert comm._LOCAL_PROCESS_GROUP is None
    for i in range(world_size // procs_per_machine):
        ranks = list(range(i * procs_per_machine, (i + 1) * procs_per_machine))
        group = dist.new_group(ranks)
        if i == machine_rank:
            comm._LOCAL_PROCESS_GROUP = group
    comm.synchronize()
    try:
        main_func(*args)
    finally:
        dist.destroy_process_group()

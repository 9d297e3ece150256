"""FSDP2 jobs on CPU (gloo), run by tests/train/test_fsdp.py as

    python fsdp_worker.py JOBS.json OUT_DIR
    JOBS.json: [{"id": "qwen2_vl", "model": "/tmp/.../qwen2_vl", "methods": ["lora", "full"],
                 "keep_vision": true}, ...]
    OUT_DIR/<id>/: rank0.json rank1.json (each rank's {method: result}), rank0.log rank1.log (its
                   stdout+stderr), status.json {"exit": [0, 0], "killed": [], "seconds": 6.1, "timed_out": false}

One job is one family on a fresh pair of processes with its own process group, so a job that fails (a
Python error, a gloo abort, a crash, a hang) fails alone and leaves its ranks' output. The pair is forked
from this process after it has imported torch, transformers, peft and the families' classes and loaded
one tiny model: starting 2 x 20 interpreters would cost ~10 s each, a fork costs milliseconds. The ranks
meet through a FileStore in the job's folder: no port is chosen by anyone (gloo's sockets bind port 0).

A method, lora or full: shard the tiny model with `vlmtrain.fsdp.shard_model`; one optimizer step where
rank 0's batch holds an image and rank 1's is text-only (the keep-alive row keeps the vision tower in
step); then the full state dict is gathered, loaded into a fresh unsharded model, and that model's logits
are compared with the sharded model's on the same batch. keep_vision false turns the keep-alive row off
(the test that it matters: the job must fail).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
import traceback
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.distributed as dist
import tqdm
from PIL import Image

from vlmtrain.collator import VLMCollator
from vlmtrain.families import resolve_family
from vlmtrain.fsdp import shard_model
from vlmtrain.methods import apply_method

# A rank waits at most this long in one collective (the other rank's rank-0-only reload is seconds; under
# a loaded 2-core machine it may be tens). A job gets JOB_SECONDS in all, then both ranks are killed.
GLOO_TIMEOUT = timedelta(seconds=300)
JOB_SECONDS = 600


def record(rid: str, with_image: bool) -> dict:
    user = [{"type": "text", "text": "What is in the picture?"}]
    if with_image:
        user.insert(0, {"type": "image", "text": None})
    return {
        "id": rid,
        "messages": [
            {"role": "user", "content": user},
            {"role": "assistant", "content": [{"type": "text", "text": "A red square."}]},
        ],
        "images": [Image.new("RGB", (56, 56), (200, 30, 30))] if with_image else [],
    }


def build(path, method: str):
    fam = resolve_family(path)
    torch.manual_seed(0)
    model = fam.load_model(path, dtype=torch.float32)
    args = SimpleNamespace(
        method=method, lora_r=4, lora_alpha=8, lora_dropout=0.0, lora_target_modules=None,
        activation_checkpointing=False, activation_checkpointing_kwargs=None,
    )  # fmt: skip
    return fam, apply_method(model, args, fam)


def one_method(path, method: str, rank: int, keep_vision: bool = True) -> dict:
    fam, model = build(path, method)
    processor = fam.load_processor(path)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    shard_model(model, fam)
    collate = VLMCollator(processor, fam, keep_vision=keep_vision)
    mixed = fam.supports_text_only  # PaliGemma refuses text-only records: every rank then has images
    batch = collate([record(f"r{rank}", with_image=rank == 0 or not mixed)])
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    loss = model(**batch).loss
    loss.backward()
    opt.step()
    opt.zero_grad()

    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    state = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    probe = VLMCollator(processor, fam)([record("probe", with_image=True)])
    model.eval()
    with torch.no_grad():
        sharded_logits = model(**probe).logits
    rows = int(batch["input_ids"].shape[0])
    result = {"loss": float(loss.detach()), "trainable": len(trainable), "rows": rows, "mixed": mixed}
    if rank == 0:
        _, untrained = build(path, method)
        untrained.eval()
        with torch.no_grad():
            result["step_changed_logits"] = float((untrained(**probe).logits - sharded_logits).abs().max())
        _, fresh = build(path, method)
        missing, unexpected = fresh.load_state_dict(state, strict=True)
        fresh.eval()
        with torch.no_grad():
            fresh_logits = fresh(**probe).logits
        result["reload_max_abs_diff"] = float((fresh_logits - sharded_logits).abs().max())
        result["state_keys"] = len(state)
        result["missing"], result["unexpected"] = list(missing), list(unexpected)
    return result


def write_json(path: Path, data) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(path)


def rank_main(job: dict, folder: Path, rank: int) -> int:
    """One rank of one job, in a forked child whose stdout/stderr go to rank<r>.log."""
    print(f"fsdp_worker rank {rank}: {job['id']} ({job['model']})", file=sys.stderr, flush=True)
    store = dist.FileStore(str(folder / "store"), 2)
    dist.init_process_group("gloo", store=store, rank=rank, world_size=2, timeout=GLOO_TIMEOUT)
    keep_vision = job.get("keep_vision", True)
    result = {}
    for method in job["methods"]:
        print(f"fsdp_worker rank {rank}: {method}", file=sys.stderr, flush=True)
        result[method] = one_method(job["model"], method, rank, keep_vision=keep_vision)
    dist.barrier()  # both ranks are past their last collective before either closes its sockets
    dist.destroy_process_group()
    write_json(folder / f"rank{rank}.json", result)
    return 0


def fork_rank(job: dict, folder: Path, rank: int) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        log = os.open(folder / f"rank{rank}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        code = rank_main(job, folder, rank)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # no atexit handlers or finalizers inherited from the parent


def run_job(job: dict, folder: Path) -> dict:
    """Fork the job's two ranks and wait: a rank that fails takes its peer down (it would wait in a
    collective until the gloo timeout), like torchrun; past JOB_SECONDS both are killed."""
    folder.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    pids = [fork_rank(job, folder, rank) for rank in (0, 1)]
    codes: list[int | None] = [None, None]
    killed = []  # ranks this worker stopped because their peer failed or time ran out
    timed_out = False
    while None in codes:
        for i, pid in enumerate(pids):
            if codes[i] is None:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    codes[i] = os.waitstatus_to_exitcode(status)
        failed = any(c not in (None, 0) for c in codes)
        timed_out = timed_out or time.monotonic() - start > JOB_SECONDS
        if (failed or timed_out) and None in codes:
            for i, pid in enumerate(pids):
                if codes[i] is None:
                    killed.append(i)
                    os.kill(pid, signal.SIGKILL)
                    codes[i] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        time.sleep(0.05)
    seconds = round(time.monotonic() - start, 2)
    status = {"exit": codes, "killed": killed, "seconds": seconds, "timed_out": timed_out}
    write_json(folder / "status.json", status)
    return status


def warm_up(models: list[str]) -> None:
    """Do once, here, what every forked rank would otherwise do first: import peft (with bitsandbytes
    and torch's inductor behind it: ~10 s), the FSDP and state-dict modules and each family's model and
    processor classes (transformers imports them lazily), and load one model with LoRA and its
    processor (transformers' weight-name rules and the template engine are built on first use)."""
    import peft  # noqa: F401
    import torch.distributed.checkpoint.state_dict  # noqa: F401
    import torch.distributed.fsdp  # noqa: F401
    import transformers

    for path in dict.fromkeys(models):
        fam = resolve_family(path)
        for name in (fam.model_class, *fam.model_classes.values(), fam.processor_class):
            getattr(transformers, name)
    if models:
        build(models[0], "lora")
        resolve_family(models[0]).load_processor(models[0])


def main(jobs_file: str, out_dir: str) -> None:
    jobs = json.loads(Path(jobs_file).read_text(encoding="utf-8"))
    # gloo binds its pair sockets to the address the host name resolves to; loopback needs no name service
    if "GLOO_SOCKET_IFNAME" not in os.environ and "lo" in {n for _, n in socket.if_nameindex()}:
        os.environ["GLOO_SOCKET_IFNAME"] = "lo"
    # fork() copies only the calling thread: start none here (no tokenizer pool, no tqdm monitor thread)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    tqdm.tqdm.monitor_interval = 0
    warm_up([job["model"] for job in jobs])
    for job in jobs:
        status = run_job(job, Path(out_dir) / job["id"])
        print(f"fsdp_worker: {job['id']} {status}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

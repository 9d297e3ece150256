"""Layer 3 (trainers): Trainer callbacks and run artefacts: `trainer_log.jsonl` (one line per log call), one
progress bar, `loss.png`.

trainer_log.jsonl:  {"step": 5, "epoch": 1.0, "loss": 2.31, "learning_rate": 0.0002, "grad_norm": 1.7}
progress bar:       train  40%|████      | 8/20 [00:02<00:03, 3.9step/s, loss=5.81, lr=0.005, tok/s=1,204]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from transformers import TrainerCallback

from vlmdata.atomic import atomic_file, atomic_write_text
from vlmtrain.runfolder import DROPPED_NAME, STATE_NAME

LOG_NAME = "trainer_log.jsonl"
PLOT_NAME = "loss.png"
SMOOTHING = 0.8  # EMA weight of the smoothed loss curve (TensorBoard's default slider is 0.6)


class JsonlLogCallback(TrainerCallback):
    """Appends every log dict (with step and epoch) as one JSON line; main process only."""

    def __init__(self, output_dir: str | Path):
        self.path = Path(output_dir) / LOG_NAME

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        row = {"step": state.global_step, "epoch": state.epoch, **logs}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, default=float) + "\n")


class ProgressBar(TrainerCallback):
    """The run's one progress display, replacing transformers' ProgressCallback (which writes every log
    dict between bar redraws) and PrinterCallback (which prints them when tqdm is disabled). Shows loss,
    learning rate and real (unpadded) tokens per second from trl's cumulative `num_tokens`; tqdm gives
    the ETA. Evaluation adds no second bar: its loss joins the postfix."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.bar = None
        self.postfix: dict[str, str] = {}
        self._tokens = None  # (num_tokens, time) at the previous log

    def on_train_begin(self, args, state, control, **kwargs):
        if not (self.enabled and state.is_world_process_zero):
            return
        from tqdm.auto import tqdm

        self.bar = tqdm(
            total=state.max_steps,
            initial=state.global_step,
            desc="train",
            unit="step",
            dynamic_ncols=True,
            file=sys.stderr,
        )

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.bar is None or not logs:
            return
        if "loss" in logs:
            self.postfix["loss"] = f"{logs['loss']:.4g}"
        if "learning_rate" in logs:
            self.postfix["lr"] = f"{logs['learning_rate']:.3g}"
        if "eval_loss" in logs:
            self.postfix["eval_loss"] = f"{logs['eval_loss']:.4g}"
        if "num_tokens" in logs:
            now, tokens = time.perf_counter(), float(logs["num_tokens"])
            if self._tokens is not None and now > self._tokens[1]:
                self.postfix["tok/s"] = f"{(tokens - self._tokens[0]) / (now - self._tokens[1]):,.0f}"
            self._tokens = (tokens, now)
        self.bar.set_postfix(self.postfix, refresh=True)

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def use_one_progress_display(trainer, enabled: bool) -> None:
    """Swap the Trainer's default progress/printer callback for `ProgressBar`."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(ProgressBar(enabled))


def read_log(output_dir: str | Path) -> list[dict]:
    path = Path(output_dir) / LOG_NAME
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def trim_log(output_dir: Path, checkpoint: str | None) -> None:
    """Fresh run: start a new log. Resume: keep the log lines up to the checkpoint's step. Either way the
    list of dropped records is rewritten by this run's preflight."""
    log = output_dir / LOG_NAME
    (output_dir / DROPPED_NAME).unlink(missing_ok=True)  # preflight writes it afresh on every run
    if checkpoint is None:
        log.unlink(missing_ok=True)
        return
    state = json.loads((Path(checkpoint) / STATE_NAME).read_text())
    rows = [r for r in read_log(output_dir) if r.get("step", 0) <= state["global_step"]]
    atomic_write_text(log, "".join(json.dumps(r) + "\n" for r in rows))


def smooth(values: list[float], weight: float = SMOOTHING) -> list[float]:
    """Debiased exponential moving average (TensorBoard's smoothing): smooth([4, 2]) -> [4.0, 2.89]."""
    out, ema = [], 0.0
    for i, v in enumerate(values, start=1):
        ema = weight * ema + (1 - weight) * v
        out.append(ema / (1 - weight**i))
    return out


def epoch_starts(rows: list[dict]) -> list[tuple[int, int]]:
    """[(k, first step logged with epoch >= k), ...] for k = 1, 2, ...: where the plot marks epochs."""
    marks, nxt = [], 1
    for r in rows:
        epoch = r.get("epoch")
        while epoch is not None and epoch >= nxt:
            marks.append((nxt, r["step"]))
            nxt += 1
    return marks


def plot_loss(output_dir: str | Path) -> Path | None:
    """trainer_log.jsonl -> loss.png (see `loss_figure`). None when nothing was logged."""
    fig = loss_figure(read_log(output_dir))
    if fig is None:
        return None
    import matplotlib.pyplot as plt

    out = Path(output_dir) / PLOT_NAME
    try:
        with atomic_file(out, "wb") as fh:
            fig.savefig(fh, format="png", dpi=100, bbox_inches="tight")
    finally:
        plt.close(fig)
    return out


def loss_figure(rows: list[dict]):
    """Log rows -> matplotlib Figure: every logged train loss as faint points (alternating batch sizes
    make a sawtooth of them), their smoothed curve, a dotted line at the first step logged in each new
    epoch (the top axis numbers the epochs completed there), and eval loss when logged. None when no loss was logged."""
    train = [(r["step"], r["loss"]) for r in rows if "loss" in r]
    evals = [(r["step"], r["eval_loss"]) for r in rows if "eval_loss" in r]
    if not train and not evals:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    if train:
        steps, losses = zip(*train, strict=True)
        ax.plot(steps, losses, ".", color="tab:blue", alpha=0.25, markersize=4, label="train loss (logged)")
        ax.plot(steps, smooth(list(losses)), "-", color="tab:blue", label=f"train loss (EMA {SMOOTHING})")
    if evals:
        ax.plot(*zip(*evals, strict=True), "o-", color="tab:orange", label="eval loss")
    marks = epoch_starts(rows)
    for _, step in marks:
        ax.axvline(step, color="grey", linestyle=":", linewidth=0.8)
    if marks:
        every = -(-len(marks) // 20)  # at most ~20 epoch labels
        shown = marks[every - 1 :: every]
        top = ax.secondary_xaxis("top")
        top.set_xticks([s for _, s in shown], [str(e) for e, _ in shown])
        top.set_xlabel("epoch")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig

"""The fit driver: the one loop every harpdaal estimator runs through.

An estimator validates its parameters and input, builds a :class:`Step` (the algorithm: one
process or distributed) and hands it to a :class:`FitLoop`, which owns everything the
algorithms share:

- the iteration count and the per-iteration ``history``;
- progress when ``verbose`` (a tqdm bar on a terminal, one log line per iteration otherwise;
  rank 0 only);
- early stopping on a monitored metric (lower is better), restoring the best iteration;
- checkpoints (:mod:`harpdaal._checkpoint`) after due iterations, and resuming from one;
- callbacks, any of which may stop the fit;
- ``timings`` split into compute, communication and glue.

A step does iterations in blocks: ``step.run(n)`` may do up to ``n`` iterations in one native
call, which is what keeps a compiled multi-iteration loop fast. The loop asks for one
iteration at a time whenever something has to happen between iterations (a progress line, a
callback, an early-stopping decision, a checkpoint), and for as many as remain otherwise. So
there is one loop semantics per algorithm, whether its iterations run in Python or in C++.

The communicator comes from :func:`fit_communicator` (``harpdaal.config_context(comm=...)``,
else MPI ``COMM_WORLD`` under ``mpiexec``, else one process). :func:`agree` runs a local check
on every rank so that bad input on one rank raises on all of them instead of leaving the
others waiting in a collective.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ._checkpoint import restore_rng
from .comm import current_communicator

STOP_REASONS = ("max_iter", "converged", "early_stopping", "callback")


def fit_communicator():
    """The communicator a fit runs on: the one set by ``harpdaal.config_context(comm=...)``,
    else MPI ``COMM_WORLD`` when started by ``mpiexec`` with more than one rank, else a
    one-process communicator."""
    return current_communicator()


def agree(comm, fn: Callable[[], Any]):
    """Run the local check ``fn()`` on every rank and return its result. If it raises
    TypeError or ValueError on any rank, every rank raises (the rank that failed re-raises its
    own exception; the others a copy of its message naming the rank), so no rank is left
    waiting in a collective. Collective."""
    try:
        result, error = fn(), None
    except (TypeError, ValueError) as exc:
        result, error = None, exc
    if comm.size == 1:
        if error is not None:
            raise error
        return result
    msg = None if error is None else (type(error).__name__, str(error))
    for rank, e in enumerate(comm.allgather_object(msg)):
        if e is None:
            continue
        if rank == comm.rank:
            raise error
        cls = TypeError if e[0] == "TypeError" else ValueError
        raise cls(f"rank {rank}: {e[1]}")
    return result


class Step:
    """One algorithm's iterations, as the fit loop drives them. Subclass per algorithm (and per
    one-process / distributed variant).

    ``run(n)`` is required; ``state``/``load_state`` are needed for checkpoints and
    ``snapshot``/``restore`` for early stopping. A step adds the seconds it measured itself to
    ``compute_s`` (kernels) and ``comm_s`` (collectives); the loop counts the rest as glue.
    """

    compute_s: float = 0.0
    comm_s: float = 0.0

    def run(self, n: int) -> list[dict]:
        """Do between 1 and ``n`` iterations; return one metrics dict per iteration done. The
        last dict may hold ``"converged": True`` (the loop then stops) and ``"message"`` (a line
        shown when verbose). Metric values must be the same on every rank."""
        raise NotImplementedError

    def state(self) -> tuple[dict, dict]:
        """(arrays, extra) to checkpoint: this rank's arrays and small JSON values."""
        raise NotImplementedError(f"{type(self).__name__} does not support checkpoints")

    def load_state(self, arrays: dict, extra: dict) -> None:
        """Continue from what :meth:`state` returned."""
        raise NotImplementedError(f"{type(self).__name__} does not support checkpoints")

    def snapshot(self) -> dict:
        """A copy of the model (name -> array) to come back to if this iteration stays best."""
        raise NotImplementedError(f"{type(self).__name__} does not support early stopping")

    def restore(self, arrays: dict) -> None:
        """Put back a :meth:`snapshot`."""
        raise NotImplementedError(f"{type(self).__name__} does not support early stopping")

    def close(self) -> None:
        """Release resources (pending messages, threads). The estimator calls it once it has
        read the model, also after an error (the loop does not: the model outlives it)."""


@dataclass
class IterationInfo:
    """What a callback sees after each iteration."""

    iteration: int          # 1-based count of iterations done
    metrics: dict
    elapsed: float          # seconds since the loop started
    step: Step


@dataclass
class LoopResult:
    n_iter: int
    history: list = field(default_factory=list)
    best_iter: int = 0
    best_value: float | None = None
    stopped: str = "max_iter"
    timings: dict = field(default_factory=dict)


def _number(value):
    return float(value) if isinstance(value, (float, np.floating)) else value


class FitLoop:
    """The iteration loop shared by every estimator.

    Parameters
    ----------
    max_iter : iterations to run at most (counting those before a resumed checkpoint).
    comm : the communicator (decisions that could differ by rank are agreed through it).
    verbose : show progress on rank 0.
    desc : the progress bar's label.
    log : ``log(iteration, metrics) -> str | None``, the per-iteration line when verbose and
        not on a terminal (default: the metrics as ``name value``).
    stream : where progress goes (default ``sys.stderr``).
    monitor : the metric early stopping watches (lower is better), or None.
    early_stopping : stop after ``patience`` iterations without an improvement of more than
        ``min_delta`` in ``monitor`` (``patience=0``: at the first monitored iteration), and
        restore the best iteration's snapshot unless ``restore_best`` is false (scikit-learn's
        MiniBatchKMeans keeps the last centers).
    checkpointer, saved : a :class:`harpdaal._checkpoint.Checkpointer` (or None) and the
        checkpoint to resume from (or None).
    rng : name -> numpy generator saved with each checkpoint and restored on resume.
    iteration_offset : added to iteration numbers in checkpoint files (an estimator that runs
        several loops in one fit, such as K-means' ``n_init``, keeps its numbers increasing).
    callbacks : callables ``cb(IterationInfo) -> bool``; a true return value stops the fit.
    block : the most iterations per ``step.run`` call (None: no limit).
    """

    def __init__(self, *, max_iter: int, comm=None, verbose=0, desc: str = "fit",
                 log: Callable[[int, dict], str | None] | None = None, stream=None,
                 monitor: str | None = None, early_stopping: bool = False, patience: int = 1,
                 min_delta: float = 0.0, restore_best: bool = True, checkpointer=None,
                 saved=None,
                 rng: dict | None = None, iteration_offset: int = 0,
                 callbacks: Sequence[Callable[[IterationInfo], Any]] | None = None,
                 block: int | None = None):
        if max_iter < 0:
            raise ValueError(f"max_iter must be >= 0, got {max_iter}")
        if early_stopping and monitor is None:
            raise ValueError("early_stopping needs a monitored metric")
        if patience < 0:
            raise ValueError(f"patience must be >= 0, got {patience}")
        if callbacks is None:
            callbacks = ()
        elif callable(callbacks):
            callbacks = (callbacks,)
        for cb in callbacks:
            if not callable(cb):
                raise TypeError(f"callbacks: expected callables, got {type(cb).__name__}")
        self.max_iter = int(max_iter)
        self.comm = comm if comm is not None else fit_communicator()
        self.verbose = verbose
        self.desc = desc
        self.log = log
        self.stream = stream
        self.monitor = monitor
        self.early_stopping = bool(early_stopping)
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.restore_best = bool(restore_best)
        self.checkpointer = checkpointer
        self.saved = saved
        self.rng = dict(rng or {})
        self.iteration_offset = int(iteration_offset)
        self.callbacks = tuple(callbacks)
        self.block = block

    # ---- progress -----------------------------------------------------------------------------
    def _progress(self):
        if not self.verbose or self.comm.rank != 0:
            return None
        stream = self.stream if self.stream is not None else sys.stderr
        if getattr(stream, "isatty", lambda: False)():
            from tqdm.auto import tqdm

            return _Bar(tqdm(total=self.max_iter, desc=self.desc, file=stream, leave=True))
        return _Lines(stream, self.log)

    # ---- the loop -----------------------------------------------------------------------------
    def _block_size(self, done: int) -> int:
        n = self.max_iter - done
        if self.verbose or self.callbacks or self.monitor is not None:
            n = 1
        ck = self.checkpointer
        if ck is not None:
            if ck.every_kind == "iterations":
                n = min(n, ck.every - (done + self.iteration_offset) % ck.every)
            else:
                n = 1
        if self.block is not None:
            n = min(n, int(self.block))
        return max(n, 1)

    def run(self, step: Step) -> LoopResult:
        t_start = time.perf_counter()
        c0, m0 = step.compute_s, step.comm_s
        history: list = []
        best_value, best_iter, stale, best_snapshot = np.inf, 0, 0, None
        done = 0
        if self.saved is not None:
            done, history, best_value, best_iter, stale, best_snapshot = self._resume(step)
        result = LoopResult(n_iter=done, history=history)
        progress = self._progress()
        if progress is not None and done:
            progress.skip(done)
        try:
            while done < self.max_iter:
                records = step.run(self._block_size(done))
                if not records:
                    raise RuntimeError(f"{type(step).__name__}.run did no iteration")
                stop = None
                for rec in records:
                    done += 1
                    rec = {k: _number(v) for k, v in rec.items()}
                    message = rec.pop("message", None)
                    converged = bool(rec.pop("converged", False))
                    history.append(rec)
                    if progress is not None:
                        progress.update(done, rec, message)
                    if converged:
                        stop = "converged"
                if self.monitor is not None:
                    value = history[-1].get(self.monitor)
                    if value is not None:
                        if value < best_value - self.min_delta:
                            best_value, best_iter, stale = float(value), done, 0
                            if self.early_stopping and self.restore_best:
                                best_snapshot = step.snapshot()
                        else:
                            stale += 1
                        if self.early_stopping and stale >= self.patience and stop is None:
                            stop = "early_stopping"
                if self.callbacks and stop is None:
                    info = IterationInfo(done, history[-1], time.perf_counter() - t_start, step)
                    flag = any([bool(cb(info)) for cb in self.callbacks])
                    if self.comm.size > 1:  # one rank's callback stops every rank
                        flag = any(self.comm.allgather_object(flag))
                    if flag:
                        stop = "callback"
                if stop is not None:
                    result.stopped = stop
                    break
                if self.checkpointer is not None and done < self.max_iter:
                    self._checkpoint(step, done, history, best_value, best_iter, stale,
                                     best_snapshot)
        finally:
            if progress is not None:
                progress.close()
        result.n_iter = done
        if best_snapshot is not None and best_iter != done:
            step.restore(best_snapshot)
        result.best_iter = best_iter if self.monitor is not None and best_iter else done
        result.best_value = None if not np.isfinite(best_value) else float(best_value)
        total = time.perf_counter() - t_start
        compute, comm = step.compute_s - c0, step.comm_s - m0
        result.timings = {"compute": compute, "comm": comm,
                          "glue": max(total - compute - comm, 0.0), "total": total}
        return result

    # ---- checkpoints --------------------------------------------------------------------------
    def _checkpoint(self, step, done, history, best_value, best_iter, stale, best_snapshot):
        ck = self.checkpointer
        number = done + self.iteration_offset
        if not ck.due(number):
            return
        arrays, extra = step.state()
        arrays = dict(arrays)
        for name, a in (best_snapshot or {}).items():
            arrays["best." + name] = a
        loop = {"history": history, "best_value": best_value if np.isfinite(best_value) else None,
                "best_iter": best_iter, "stale": stale}
        ck.save(number, arrays, rng=self.rng or None, extra={"step": extra, "loop": loop})

    def _resume(self, step):
        saved = self.saved
        done = int(saved.iteration) - self.iteration_offset
        if not 0 <= done <= self.max_iter:
            raise ValueError(f"the checkpoint is at iteration {done}, outside 0..max_iter="
                             f"{self.max_iter}")
        extra = saved.extra
        if not isinstance(extra, dict) or "loop" not in extra or "step" not in extra:
            raise ValueError("the checkpoint was not written by the fit loop (no loop state)")
        arrays = {k: v for k, v in saved.arrays.items() if not k.startswith("best.")}
        best_snapshot = {k[5:]: v for k, v in saved.arrays.items() if k.startswith("best.")}
        step.load_state(arrays, extra["step"])
        for name, gen in self.rng.items():
            if name not in saved.rng:
                raise ValueError(f"the checkpoint holds no RNG state {name!r}")
            restore_rng(gen, saved.rng[name])
        loop = extra["loop"]
        best_value = loop["best_value"] if loop["best_value"] is not None else np.inf
        return (done, list(loop["history"]), best_value, int(loop["best_iter"]),
                int(loop["stale"]), best_snapshot or None)


def _default_line(iteration: int, metrics: dict) -> str:
    parts = [f"iteration {iteration}"]
    for name, value in metrics.items():
        parts.append(f"{name} {value:.6g}" if isinstance(value, float) else f"{name} {value}")
    return "  ".join(parts)


class _Lines:
    """Progress as one line per iteration (not a terminal: logs, notebooks' captured output)."""

    def __init__(self, stream, log):
        self.stream, self.log = stream, log or _default_line

    def skip(self, done):
        print(f"resumed after iteration {done}", file=self.stream, flush=True)

    def update(self, done, metrics, message):
        line = self.log(done, metrics)
        if line:
            print(line, file=self.stream, flush=True)
        if message:
            print(message, file=self.stream, flush=True)

    def close(self):
        pass


class _Bar:
    """Progress as a tqdm bar (a terminal)."""

    def __init__(self, bar):
        self.bar = bar

    def skip(self, done):
        self.bar.update(done)

    def update(self, done, metrics, message):
        self.bar.update(done - self.bar.n)
        shown = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        if shown:
            self.bar.set_postfix(shown, refresh=False)
        if message:
            self.bar.write(message, file=self.bar.fp)

    def close(self):
        self.bar.close()

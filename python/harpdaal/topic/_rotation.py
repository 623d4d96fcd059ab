"""The LDA training loop: Harp's lda-rtt model rotation, on one process or over MPI ranks.

Documents stay on their rank. The word-topic table is cut by word into ``2 * size`` slices
(balanced by global word frequency); rank r starts with the pair (2r, 2r+1). In every step a rank
samples its documents against the pair it holds, one slice after the other: as soon as the first
slice is sampled it is sent on to rank r+1 while the second one is sampled (pipelined). After
``size`` steps each rank has sampled its documents against every word once (one iteration) and
the slices are home again. Topic totals are synchronised by an allreduce of the step's changes
after every step. On one process (size 1) there is one slice and no communication; the kernel
itself rotates sub-slices between its threads.

Timer-bounded steps (Harp's dynamic rotation control, ``step_fraction=f``): every slice sampling
gets a time budget from :class:`harpdaal.comm.RotationTimer`; the kernel stops when it is spent
(tokens not reached keep their topics, so the counts stay exact) and the slice moves on, so a
fast rank never waits for a slow one. The first iteration is unbounded and measures each rank's
rate; after every iteration the budget is re-solved (collectively) so that a fraction ``f`` of
all tokens is sampled per step. Each call starts at a different document (a golden-ratio
rotation), so the documents left out differ between iterations. Fits with timer-bounded steps
depend on timing and are not reproducible bit for bit.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np

from .. import _core

_K = _core.lda

# Test hook: {rank: factor} makes that rank behave as if its kernel ran `factor` times slower
# (it gets 1/factor of the step's remaining budget and then sleeps (factor - 1) times the kernel's
# time), to exercise timer-bounded steps with a deliberately slow rank. Empty in normal use.
_SLOWDOWN: dict = {}
_GOLDEN = 0.6180339887498949


class _SingleProcess:
    """The subset of the Communicator API used here, for one process without harpdaal.comm."""

    rank = 0
    size = 1

    def allreduce_array(self, a, op="sum"):
        return a

    def allgatherv_rows(self, a):
        return a

    def allgather_object(self, obj):
        return [obj]

    def check_same(self, value, what=""):
        return None


def get_communicator():
    try:
        from ..comm import current_communicator
    except ImportError:  # comm layer not built into this tree
        return _SingleProcess()
    return current_communicator()


@dataclass
class RotationResult:
    word_topic: np.ndarray
    topic_totals: np.ndarray
    topics: np.ndarray
    n_tokens: int
    loglik_history: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    step_history: list = field(default_factory=list)


def _slice_bounds(word_freq: np.ndarray, n_slices: int) -> np.ndarray:
    """Contiguous word ranges of about equal token mass (each non-empty when possible)."""
    V = len(word_freq)
    cum = np.concatenate([[0], np.cumsum(word_freq, dtype=np.int64)])
    targets = cum[-1] * np.arange(1, n_slices) / n_slices
    inner = np.searchsorted(cum, targets, side="left")
    bounds = np.concatenate([[0], inner, [V]]).astype(np.int64)
    return np.maximum.accumulate(np.clip(bounds, 0, V))


def loglik_parts(comm, doc_ptr, topics, word_rows, topic_totals, K, alpha, beta, V, n_threads):
    """(log p(w, z), total tokens) summed over ranks; word_rows is this rank's set of rows."""
    parts = np.array([
        _K.doc_log_likelihood(doc_ptr, topics, K, alpha, n_threads),
        sum(_K.word_log_likelihood(r, beta, n_threads) for r in word_rows),
        float(doc_ptr[-1] - doc_ptr[0]),
    ])
    comm.allreduce_array(parts, op="sum")
    from ._lda import topic_log_likelihood

    return parts[0] + parts[1] + topic_log_likelihood(topic_totals, V, beta), int(parts[2])


def fit_rotation(comm, corpus, K, alpha, beta, max_iter, seed, mh_steps, n_threads,
                 evaluate_every, verbose, checkpoint=(None, None),
                 step_fraction=None) -> RotationResult:
    """`checkpoint`: (Checkpointer or None, Checkpoint to resume from or None);
    `step_fraction`: None (full steps) or the RotationTimer target fraction in (0, 1]."""
    R, rank = comm.size, comm.rank
    V = corpus.n_words
    doc_ptr = corpus.doc_ptr
    words = corpus.words
    t_start = time.perf_counter()
    compute = comm_time = 0.0

    # globally unique document ids for the counter-based RNG
    n_docs_all = comm.allgather_object(corpus.n_docs)
    first_doc = int(sum(n_docs_all[:rank]))

    rng = np.random.default_rng([seed, rank])
    topics = rng.integers(0, K, corpus.n_tokens, dtype=np.int32)

    n_slices = 2 * R if R > 1 else 1
    freq = np.bincount(words, minlength=V).astype(np.int64)
    t0 = time.perf_counter()
    comm.allreduce_array(freq, op="sum")
    comm_time += time.perf_counter() - t0
    bounds = _slice_bounds(freq, n_slices)
    rows_max = int(np.max(np.diff(bounds))) if n_slices else V

    # initial counts: each rank counts its tokens per slice; the sums land on the slice's owner
    totals = np.zeros(K, np.int64)
    scratch = np.zeros(K, np.int64)
    held = []  # [(slice id, padded buffer)] for the pair this rank holds
    for s in range(n_slices):
        buf = np.zeros((rows_max, K), np.int32)
        lo, hi = int(bounds[s]), int(bounds[s + 1])
        _K.accumulate_counts(words, topics, buf[: hi - lo], lo, scratch)
        t0 = time.perf_counter()
        comm.allreduce_array(buf, op="sum")
        comm_time += time.perf_counter() - t0
        if R == 1 or s // 2 == rank:
            held.append([s, buf])
    totals[:] = scratch
    t0 = time.perf_counter()
    comm.allreduce_array(totals, op="sum")
    comm_time += time.perf_counter() - t0
    spare = [np.zeros((rows_max, K), np.int32) for _ in held] if R > 1 else []

    def slice_view(s, buf):
        return buf[: int(bounds[s + 1] - bounds[s])]

    # tokens of this rank per slice: the work available in one slice sampling
    slice_tokens = np.bincount(np.searchsorted(bounds, words, side="right") - 1,
                               minlength=n_slices).astype(np.int64)
    timer = None
    timer_ready = False
    step_history = []
    slow = float(_SLOWDOWN.get(rank, 1.0))
    if step_fraction is not None:
        from ..comm import RotationTimer
        from ..comm.timer import solve_budget

        # rates follow the newest iteration closely (0.7): the sampler speeds up as topics settle
        timer = RotationTimer(comm, budget=1.0, target_fraction=step_fraction, smoothing=0.7)

    history = []
    ck, state = checkpoint
    start = 0
    if state is not None:  # at an iteration boundary every rank holds its own pair again
        start = state.iteration
        topics[:] = state.arrays["topics"]
        totals[:] = state.arrays["totals"]
        for j in range(len(held)):
            held[j][1][...] = state.arrays[f"slice{j}"]
        history = [tuple(h) for h in state.extra["history"]]
    for it in range(start, max_iter):
        done = avail = 0
        busy = 0.0
        offset = int(it * _GOLDEN * corpus.n_docs) if timer_ready else 0
        for step in range(R):
            snapshot = totals.copy()
            handles = []
            for j, (s, buf) in enumerate(held):
                limit = 0.0
                if timer_ready:
                    timer.start()  # > 0: a zero limit would mean "unbounded" to the kernel
                    limit = max(timer.remaining() / slow, 1e-9)
                t0 = time.perf_counter()
                n = _K.sample_block(doc_ptr, words, topics, first_doc, slice_view(s, buf),
                                    int(bounds[s]), totals, alpha, beta, V, seed, it, mh_steps,
                                    n_threads, limit, offset)  # time_limit, doc_offset
                if slow > 1.0:
                    time.sleep((slow - 1.0) * (time.perf_counter() - t0))
                compute += time.perf_counter() - t0
                busy += time.perf_counter() - t0
                done += n
                avail += int(slice_tokens[s])
                if timer_ready:
                    timer.stop(work_done=n, work_total=int(slice_tokens[s]))
                if R > 1:
                    t0 = time.perf_counter()
                    handles.append(comm.irotate_array(buf, spare[j], shift=1,
                                                      check=(it == 0 and step == 0)))
                    comm_time += time.perf_counter() - t0
            if R > 1:
                t0 = time.perf_counter()
                delta = totals - snapshot
                comm.allreduce_array(delta, op="sum")
                totals = snapshot + delta
                for h in handles:
                    h.wait()
                comm_time += time.perf_counter() - t0
                # the pair held now is the previous rank's
                for j in range(len(held)):
                    held[j][0] = (held[j][0] - 2) % n_slices
                    held[j][1], spare[j] = spare[j], held[j][1]
        if timer is not None:
            t0 = time.perf_counter()
            if timer_ready:
                used = timer.budget
                timer.adapt()  # collective: every rank's rate and work -> the next budget
                fraction = timer.history[-1]["done_fraction"]
            else:
                # The first (unbounded) iteration sets the starting budget by solving the
                # target from its rates directly (the same on every rank); they do not enter the
                # timer's averaged rates, as the first sweep from random topics is slower than
                # later ones (the budget only errs on the large side).
                used, fraction = None, 1.0
                steps = max(1, R * len(held))
                stats = comm.allgather_object((done, busy, avail))
                b = solve_budget([d / t if t > 0 else 0.0 for d, t, _ in stats],
                                 [a / steps for _, _, a in stats], step_fraction)
                timer.budget = max(b, timer.min_budget)
                timer_ready = True
            comm_time += time.perf_counter() - t0
            step_history.append({"iteration": it + 1, "budget_s": used,
                                 "sampled_fraction": fraction,
                                 "rank_sampled_fraction": done / max(avail, 1),
                                 "next_budget_s": timer.budget})
        last = it == max_iter - 1
        if last or (evaluate_every and evaluate_every > 0 and (it + 1) % evaluate_every == 0):
            t0 = time.perf_counter()
            ll, n_tok = loglik_parts(comm, doc_ptr, topics, [slice_view(s, b) for s, b in held],
                                     totals, K, alpha, beta, V, n_threads)
            comm_time += time.perf_counter() - t0
            history.append((it + 1, ll / max(n_tok, 1)))
            if verbose and rank == 0:
                print(f"[lda] iteration {it + 1}/{max_iter}: log-likelihood per token "
                      f"{ll / max(n_tok, 1):.4f}", file=sys.stderr, flush=True)
        if ck is not None and not last and ck.due(it + 1):
            arrays = {"topics": topics, "totals": totals}
            arrays.update({f"slice{j}": buf for j, (_, buf) in enumerate(held)})
            ck.save(it + 1, arrays, extra={"history": history})

    # gather the full table in slice order (every rank holds its own pair again)
    held.sort(key=lambda e: e[0])
    mine = np.ascontiguousarray(np.concatenate([slice_view(s, b) for s, b in held]))
    t0 = time.perf_counter()
    word_topic = comm.allgatherv_rows(mine) if R > 1 else mine
    comm_time += time.perf_counter() - t0
    n_tok = int(comm.allreduce_array(np.array([corpus.n_tokens], np.int64), op="sum")[0])
    total = time.perf_counter() - t_start
    timings = {"compute": compute, "comm": comm_time, "glue": max(0.0, total - compute - comm_time),
               "total": total}
    return RotationResult(np.ascontiguousarray(word_topic, dtype=np.int32), totals, topics, n_tok,
                          history, timings, step_history)

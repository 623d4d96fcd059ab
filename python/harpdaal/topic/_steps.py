"""LDA's iterations as fit-loop steps (:class:`harpdaal._driver.Step`): Harp's lda-rtt model
rotation, on one process (:class:`OneProcessSweeps`) or over MPI ranks (:class:`RotationSweeps`).

An iteration is one Gibbs sweep over every token. Documents stay on their rank. Across ranks the
word-topic table is cut by word into ``2 * size`` slices (balanced by global word frequency) held
in a :class:`harpdaal.comm.ModelRotator`; rank r starts with the pair (2r, 2r+1). In every
rotation step a rank samples its documents against the pair it holds, one slice after the
other: as soon as the first slice is sampled it is passed on to rank r+1 while the second one is
sampled (pipelined). After ``size`` steps each rank has sampled its documents against every word
once (one iteration) and the slices are home again. Topic totals are synchronised by an
allreduce of the step's changes after every step. On one process there is one slice and no
communication; the kernel itself rotates sub-slices between its threads.

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

import time

import numpy as np
from scipy.special import gammaln

from .. import _core
from .._driver import Step
from ..comm import ModelRotator, RotationTimer
from ..comm.timer import solve_budget

_K = _core.lda
_GOLDEN = 0.6180339887498949
LOGLIK = "loglik_per_token"   # the metric an evaluated iteration reports


def topic_log_likelihood(topic_totals: np.ndarray, n_words: int, beta: float) -> float:
    """The topic part of log p(w|z): K lgamma(V beta) - sum_k lgamma(n_k + V beta)."""
    vb = n_words * beta
    return float(len(topic_totals) * gammaln(vb) - gammaln(topic_totals + vb).sum())


# What a slice costs beyond its tokens, in tokens per word of the slice and per topic: the
# kernel's constant (kRowCostPerTopic in src/kernels/lda/lda.hpp, with the figures that chose it),
# so that the slices between ranks follow the rule of the kernel's sub-slices between threads.
ROW_COST_PER_TOPIC = float(_K.ROW_COST_PER_TOPIC)


def slice_bounds(word_freq: np.ndarray, n_slices: int, row_cost: float = 0.0) -> np.ndarray:
    """Contiguous word ranges of about equal cost (each non-empty when possible): a word's
    tokens plus ``row_cost`` for every word that has any."""
    V = len(word_freq)
    weight = np.asarray(word_freq, dtype=np.float64)
    if row_cost:
        weight = weight + row_cost * (weight > 0)
    cum = np.concatenate([[0.0], np.cumsum(weight)])
    targets = cum[-1] * np.arange(1, n_slices) / n_slices
    inner = np.searchsorted(cum, targets, side="left")
    bounds = np.concatenate([[0], inner, [V]]).astype(np.int64)
    return np.maximum.accumulate(np.clip(bounds, 0, V))


class _Sweeps(Step):
    """What both variants share: the documents, their topic assignments, the topic totals, the
    sampling of one slice (with the optional timer) and the log-likelihood.

    ``run(n)`` does n sweeps and reports ``loglik_per_token`` after every ``evaluate_every``-th
    iteration and after the last one (``max_iter``).
    """

    n_slices: int

    def __init__(self, comm, corpus, K, alpha, beta, seed, mh_steps, n_threads, max_iter,
                 evaluate_every, step_fraction, warp_sweeps=0, warp_steps=4):
        self.comm = comm
        self.corpus = corpus
        self.K, self.alpha, self.beta = K, alpha, beta
        self.V = corpus.n_words
        self.seed, self.mh_steps, self.n_threads = seed, mh_steps, n_threads
        self.max_iter, self.evaluate_every = max_iter, evaluate_every
        self.compute_s = self.comm_s = 0.0
        self.iteration = 0
        self.step_history: list = []

        # globally unique document ids for the counter-based RNG
        n_docs_all = comm.allgather_object(corpus.n_docs)
        self.first_doc = int(sum(n_docs_all[:comm.rank]))
        rng = np.random.default_rng([seed, comm.rank])
        self.topics = rng.integers(0, K, corpus.n_tokens, dtype=np.int32)
        freq = np.bincount(corpus.words, minlength=self.V).astype(np.int64)
        self._collective(comm.allreduce_array, freq, op="sum")
        self.bounds = slice_bounds(freq, self.n_slices, ROW_COST_PER_TOPIC * K)
        # tokens of this rank per slice: the work available in one slice sampling
        self.slice_tokens = np.bincount(
            np.searchsorted(self.bounds, corpus.words, side="right") - 1,
            minlength=self.n_slices).astype(np.int64)

        # The word-major sampler (warp_*_phase) samples the first `warp_sweeps` sweeps, the
        # other sampler (mh_steps) the rest. Its state: the tokens grouped by word, the topics
        # in that order as of the last word phase, and each token's pending proposals.
        self.warp_sweeps = warp_sweeps
        if warp_sweeps > 0:
            self.word_ptr = np.empty(self.V + 1, np.int64)
            self.order = np.empty(corpus.n_tokens, np.int64)
            _K.word_order(corpus.words, self.word_ptr, self.order)
            self.by_word = self.topics[self.order]
            self.props = np.zeros((corpus.n_tokens, 2 * warp_steps), np.int32)
            # several ranks: the word proposals' global / local ratios (kernels/lda/warp.hpp)
            self.corr = (np.ones((corpus.n_tokens, warp_steps + 1), np.float32)
                         if comm.size > 1 else None)

        self.timer = None
        self.step_fraction = step_fraction
        self._timer_ready = False
        if step_fraction is not None:
            # rates follow the newest iteration closely (0.7): the sampler speeds up as topics
            # settle
            self.timer = RotationTimer(comm, budget=1.0, target_fraction=step_fraction,
                                       smoothing=0.7)

    def _collective(self, fn, *args, **kw):
        t0 = time.perf_counter()
        out = fn(*args, **kw)
        self.comm_s += time.perf_counter() - t0
        return out

    def _initial_slice(self, s, scratch):
        """Slice s's word-topic counts over every rank's tokens (collective)."""
        lo, hi = int(self.bounds[s]), int(self.bounds[s + 1])
        counts = np.zeros((hi - lo, self.K), np.int32)
        _K.accumulate_counts(self.corpus.words, self.topics, counts, lo, scratch)
        self._collective(self.comm.allreduce_array, counts, op="sum")
        return counts

    # ---- one iteration ----------------------------------------------------------------------
    def _begin_iteration(self):
        self._done = self._avail = 0
        self._busy = 0.0
        self._offset = (int(self.iteration * _GOLDEN * self.corpus.n_docs)
                        if self._timer_ready else 0)

    def _sample(self, s, block):
        """Sample this rank's tokens of slice s (word rows ``block``) in place."""
        timer = self.timer if self._timer_ready else None
        limit = 0.0
        if timer is not None:
            timer.start()  # > 0: a zero limit would mean "unbounded" to the kernel
            limit = max(timer.remaining(), 1e-9)
        c = self.corpus
        t0 = time.perf_counter()
        if self.warp:  # the word phase: every token of the slice (never timer-bounded)
            _K.warp_word_phase(self.word_ptr, self.order, self.topics, self.by_word, self.props,
                               block, int(self.bounds[s]), self.totals, self.alpha, self.beta,
                               self.V, self.seed, self.iteration, self.first_doc, self.n_threads,
                               self.corr)
            n = int(self.slice_tokens[s])
        else:
            n = _K.sample_block(c.doc_ptr, c.words, self.topics, self.first_doc, block,
                                int(self.bounds[s]), self.totals, self.alpha, self.beta, self.V,
                                self.seed, self.iteration, self.mh_steps, self.n_threads, limit,
                                self._offset)  # time_limit, doc_offset
        dt = time.perf_counter() - t0
        self.compute_s += dt
        self._busy += dt
        self._done += n
        self._avail += int(self.slice_tokens[s])
        if timer is not None:
            timer.stop(work_done=n, work_total=int(self.slice_tokens[s]))

    @property
    def warp(self) -> bool:
        """Whether this sweep is the word-major sampler's."""
        return self.iteration < self.warp_sweeps

    def _leave_warp(self):
        # the sparse sampler takes over: the word-major state is not needed any more
        self.word_ptr = self.order = self.by_word = self.props = self.corr = None

    def _doc_phase(self):
        """The word-major sampler's document phase over this rank's documents; the topic
        totals' moves are summed over the ranks (collective)."""
        before = self.totals.copy() if self.comm.size > 1 else None
        t0 = time.perf_counter()
        # word proposals exist once a word phase has run: the word-major sweeps come first
        _K.warp_doc_phase(self.corpus.doc_ptr, self.topics, self.props, self.iteration > 0,
                          self.totals, self.alpha, self.beta, self.V, self.seed, self.iteration,
                          self.first_doc, self.n_threads, self.corr)
        self.compute_s += time.perf_counter() - t0
        if before is not None:
            delta = self.totals - before
            self._collective(self.comm.allreduce_array, delta, op="sum")
            self.totals[:] = before + delta

    def _end_iteration(self) -> dict:
        if self.warp and self.iteration + 1 == self.warp_sweeps:
            self._leave_warp()
        it = self.iteration
        timer = self.timer
        if timer is not None:
            t0 = time.perf_counter()
            if self._timer_ready:
                used = timer.budget
                timer.adapt()  # collective: every rank's rate and work -> the next budget
                fraction = timer.history[-1]["done_fraction"]
            else:
                # The first (unbounded) iteration sets the starting budget by solving the
                # target from its rates directly (the same on every rank); they do not enter the
                # timer's averaged rates, as the first sweep from random topics is slower than
                # later ones (the budget only errs on the large side).
                used, fraction = None, 1.0
                steps = max(1, self.comm.size * self.slices_per_rank)
                stats = self.comm.allgather_object((self._done, self._busy, self._avail))
                b = solve_budget([d / t if t > 0 else 0.0 for d, t, _ in stats],
                                 [a / steps for _, _, a in stats], self.step_fraction)
                timer.budget = max(b, timer.min_budget)
                self._timer_ready = True
            self.comm_s += time.perf_counter() - t0
            self.step_history.append({"iteration": it + 1, "budget_s": used,
                                      "sampled_fraction": fraction,
                                      "rank_sampled_fraction": self._done / max(self._avail, 1),
                                      "next_budget_s": timer.budget})
        self.iteration = it + 1
        last = self.iteration == self.max_iter
        every = self.evaluate_every
        if last or (every and every > 0 and self.iteration % every == 0):
            return {LOGLIK: self.loglik_per_token()}
        return {}

    def run(self, n):
        records = []
        for _ in range(n):
            self._begin_iteration()
            self._sweep()
            records.append(self._end_iteration())
        return records

    # ---- the model --------------------------------------------------------------------------
    def loglik_per_token(self) -> float:
        """log p(w, z) per token of the current sample, over every rank (collective)."""
        c = self.corpus
        t0 = time.perf_counter()
        parts = np.array([
            _K.doc_log_likelihood(c.doc_ptr, self.topics, self.K, self.alpha, self.n_threads),
            sum(_K.word_log_likelihood(r, self.beta, self.n_threads) for r in self._own_rows()),
            float(c.doc_ptr[-1] - c.doc_ptr[0]),
        ])
        self.comm.allreduce_array(parts, op="sum")
        ll = parts[0] + parts[1] + topic_log_likelihood(self.totals, self.V, self.beta)
        self.comm_s += time.perf_counter() - t0
        return ll / max(int(parts[2]), 1)

    def n_tokens(self) -> int:
        """Tokens of every rank (collective)."""
        return int(self._collective(self.comm.allreduce_array,
                                    np.array([self.corpus.n_tokens], np.int64), op="sum")[0])

    def state(self):
        arrays = {"topics": self.topics, "totals": self.totals}
        arrays.update({f"slice{j}": rows for j, rows in enumerate(self._own_rows())})
        if self.warp:
            arrays["props"] = self.props
            if self.corr is not None:
                arrays["corr"] = self.corr
        return arrays, {"iteration": self.iteration}

    def load_state(self, arrays, extra):
        self.iteration = int(extra["iteration"])
        self.topics[:] = arrays["topics"]
        self.totals[:] = arrays["totals"]
        for j, rows in enumerate(self._own_rows()):
            rows[...] = arrays[f"slice{j}"]
        if self.warp:
            self.props[...] = arrays["props"]
            if self.corr is not None:
                self.corr[...] = arrays["corr"]
            self.by_word[:] = self.topics[self.order]
        elif self.warp_sweeps > 0 and self.props is not None:
            self._leave_warp()


class OneProcessSweeps(_Sweeps):
    """One process: the whole word-topic table; the kernel rotates sub-slices between threads."""

    n_slices = 1
    slices_per_rank = 1

    def __init__(self, comm, corpus, *args, **kw):
        super().__init__(comm, corpus, *args, **kw)
        scratch = np.zeros(self.K, np.int64)
        self.word_topic = self._initial_slice(0, scratch)
        self.totals = scratch
        self._collective(comm.allreduce_array, self.totals, op="sum")

    def _sweep(self):
        if self.warp:
            self._doc_phase()
        self._sample(0, self.word_topic)

    def _own_rows(self):
        return [self.word_topic]

    def word_topic_table(self) -> np.ndarray:
        return self.word_topic


class RotationSweeps(_Sweeps):
    """Several ranks: word slices rotate in a ring through a :class:`ModelRotator`."""

    slices_per_rank = 2

    def __init__(self, comm, corpus, *args, **kw):
        self.n_slices = 2 * comm.size
        super().__init__(comm, corpus, *args, **kw)
        # initial counts: each rank counts its tokens per slice; the sums land on the slice's owner
        scratch = np.zeros(self.K, np.int64)
        mine = []
        for s in range(self.n_slices):
            counts = self._initial_slice(s, scratch)
            if s // 2 == comm.rank:
                mine.append(counts)
        self.totals = scratch
        self._collective(comm.allreduce_array, self.totals, op="sum")
        lo = self.bounds[2 * comm.rank]
        own = self.bounds[2 * comm.rank:2 * comm.rank + 3] - lo
        t0 = time.perf_counter()
        self.rotator = ModelRotator(np.concatenate(mine), comm=comm, slices_per_rank=2,
                                    slice_bounds=own)
        self.comm_s += time.perf_counter() - t0

    def _sweep(self):
        comm, rot = self.comm, self.rotator
        if self.warp:
            self._doc_phase()
        for _ in range(comm.size):
            before = self.totals.copy()
            for k in range(self.slices_per_rank):
                block = rot.get(k)   # arrived during the last step's allreduce
                self._sample(rot.slice_id(k), block)
                t0 = time.perf_counter()
                rot.rotate(k)        # on to the next rank while slot k+1 is sampled
                self.comm_s += time.perf_counter() - t0
            t0 = time.perf_counter()
            delta = self.totals - before
            comm.allreduce_array(delta, op="sum")
            self.totals = before + delta
            for k in range(self.slices_per_rank):
                rot.get(k)
            self.comm_s += time.perf_counter() - t0

    def _own_rows(self):
        # between iterations every rank holds its own pair again
        return [self.rotator.get(k) for k in range(self.slices_per_rank)]

    def word_topic_table(self) -> np.ndarray:
        """The whole table in word order, on every rank (collective)."""
        t0 = time.perf_counter()
        table = self.rotator.assemble()
        self.comm_s += time.perf_counter() - t0
        return table

    def close(self):
        self.rotator.close()

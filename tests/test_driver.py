"""The fit driver (harpdaal._driver): blocks, stopping rules, checkpoints, progress, callbacks."""
import io

import numpy as np
import pytest

from harpdaal._checkpoint import Checkpointer
from harpdaal._driver import FitLoop, IterationInfo, Step, agree, fit_communicator
from harpdaal.comm import LocalCommunicator, current_communicator


class Walk(Step):
    """x <- x/2 + noise; 'loss' = |x|, 'val' = (x - target)^2 (lowest near iteration 3)."""

    def __init__(self, seed=0, target=0.3, fail_at=None, tol=None):
        self.rng = np.random.default_rng(seed)
        self.x = np.array([4.0])
        self.target, self.fail_at, self.tol = target, fail_at, tol
        self.calls, self.done = [], 0

    def run(self, n):
        self.calls.append(n)
        out = []
        for _ in range(n):
            if self.fail_at is not None and self.done + 1 == self.fail_at:
                raise KeyboardInterrupt("killed")
            self.x = self.x / 2 + 0.01 * self.rng.standard_normal(1)
            self.done += 1
            rec = {"loss": float(abs(self.x[0])), "val": float((self.x[0] - self.target) ** 2)}
            if self.tol is not None and abs(self.x[0]) < self.tol:
                rec["converged"] = True
                rec["message"] = "converged"
                out.append(rec)
                break
            out.append(rec)
        self.compute_s += 1e-6 * len(out)
        return out

    def state(self):
        return {"x": self.x}, {"done": self.done}

    def load_state(self, arrays, extra):
        self.x = arrays["x"].copy()
        self.done = extra["done"]

    def snapshot(self):
        return {"x": self.x.copy()}

    def restore(self, arrays):
        self.x = arrays["x"].copy()


def test_one_block_when_nothing_needs_the_iterations():
    step = Walk()
    res = FitLoop(max_iter=10).run(step)
    assert step.calls == [10]
    assert res.n_iter == 10 and res.stopped == "max_iter" and len(res.history) == 10
    assert set(res.timings) == {"compute", "comm", "glue", "total"}
    assert res.timings["compute"] == pytest.approx(1e-5)
    assert res.timings["compute"] <= res.timings["total"]


def test_block_cap_and_verbose_single_steps():
    step = Walk()
    FitLoop(max_iter=7, block=3).run(step)
    assert step.calls == [3, 3, 1]
    step = Walk()
    out = io.StringIO()
    FitLoop(max_iter=4, verbose=1, stream=out).run(step)
    assert step.calls == [1, 1, 1, 1]
    lines = out.getvalue().splitlines()
    assert len(lines) == 4 and lines[0].startswith("iteration 1") and "loss" in lines[0]


def test_same_result_in_blocks_or_single_steps():
    a, b = Walk(seed=3), Walk(seed=3)
    ra = FitLoop(max_iter=9).run(a)
    rb = FitLoop(max_iter=9, block=1).run(b)
    assert ra.history == rb.history and np.array_equal(a.x, b.x)


def test_converged_stops_and_message_is_shown():
    step = Walk(tol=0.2)
    out = io.StringIO()
    res = FitLoop(max_iter=50, verbose=True, stream=out,
                  log=lambda i, m: f"Iteration {i}, loss {m['loss']:.3f}").run(step)
    assert res.stopped == "converged" and res.n_iter == step.done < 50
    assert out.getvalue().rstrip().endswith("converged")
    assert "converged" not in res.history[-1]


def test_converged_inside_a_block():
    step = Walk(tol=0.2)
    res = FitLoop(max_iter=50).run(step)
    assert step.calls == [50] and res.stopped == "converged" and res.n_iter == step.done


def test_early_stopping_restores_the_best_iteration():
    step = Walk(target=0.5)  # x: 4 -> 2 -> 1 -> 0.5 -> 0.25 ...: val lowest at iteration 3
    res = FitLoop(max_iter=20, monitor="val", early_stopping=True, patience=2).run(step)
    assert res.stopped == "early_stopping"
    assert res.best_iter == 3 and res.n_iter == 5
    assert step.x[0] == pytest.approx(0.5, abs=0.05)
    assert res.best_value == pytest.approx(min(h["val"] for h in res.history))


def test_early_stopping_without_restoring_keeps_the_last_iteration():
    class NoSnapshots(Walk):
        def snapshot(self):
            raise AssertionError("restore_best=False takes no snapshots")

    step = NoSnapshots(target=0.5)
    res = FitLoop(max_iter=20, monitor="val", early_stopping=True, patience=2,
                  restore_best=False).run(step)
    assert res.stopped == "early_stopping" and res.best_iter == 3 and res.n_iter == 5
    assert step.x[0] == pytest.approx(0.125, abs=0.05)  # iteration 5's x, not the best's


def test_patience_zero_stops_at_the_first_monitored_iteration():
    res = FitLoop(max_iter=20, monitor="val", early_stopping=True, patience=0).run(Walk())
    assert res.stopped == "early_stopping" and res.n_iter == 1
    with pytest.raises(ValueError, match="patience"):
        FitLoop(max_iter=20, monitor="val", early_stopping=True, patience=-1)


def test_monitor_without_early_stopping_runs_on():
    res = FitLoop(max_iter=8, monitor="val").run(Walk(target=0.5))
    assert res.n_iter == 8 and res.best_iter == 3 and res.stopped == "max_iter"


def test_callbacks_see_each_iteration_and_can_stop():
    seen = []

    def cb(info):
        assert isinstance(info, IterationInfo)
        seen.append((info.iteration, info.metrics["loss"]))
        return info.iteration == 4

    step = Walk()
    res = FitLoop(max_iter=10, callbacks=[cb]).run(step)
    assert res.stopped == "callback" and res.n_iter == 4 and [i for i, _ in seen] == [1, 2, 3, 4]
    with pytest.raises(TypeError, match="callables"):
        FitLoop(max_iter=3, callbacks=[1])


def test_bad_loop_arguments():
    with pytest.raises(ValueError, match="max_iter"):
        FitLoop(max_iter=-1)
    with pytest.raises(ValueError, match="monitored"):
        FitLoop(max_iter=3, early_stopping=True)

    class Lazy(Step):
        def run(self, n):
            return []

    with pytest.raises(RuntimeError, match="no iteration"):
        FitLoop(max_iter=3).run(Lazy())


def _loop(tmp_path, saved=None, **kw):
    ck = Checkpointer(tmp_path / "ck", "Walk", {"seed": 1}, every=2)
    return ck, FitLoop(max_iter=9, checkpointer=ck, saved=saved, monitor="val",
                       early_stopping=True, patience=20, **kw)


def test_checkpoint_blocks_align_with_due_iterations(tmp_path):
    step = Walk(seed=1)
    ck = Checkpointer(tmp_path / "ck", "Walk", {"seed": 1}, every=3)
    FitLoop(max_iter=10, checkpointer=ck).run(step)
    assert step.calls == [3, 3, 3, 1]
    assert ck.load().iteration == 9


@pytest.mark.parametrize("fail_at", [4, 6, 9])
def test_resume_gives_the_uninterrupted_result(tmp_path, fail_at):
    whole = Walk(seed=1)
    rng_whole = np.random.default_rng(5)
    ref = FitLoop(max_iter=9, monitor="val", early_stopping=True, patience=20,
                  rng={"g": rng_whole}).run(whole)

    killed = Walk(seed=1, fail_at=fail_at)
    ck, loop = _loop(tmp_path, rng={"g": np.random.default_rng(5)})
    with pytest.raises(KeyboardInterrupt):
        loop.run(killed)
    saved = ck.load()
    assert saved.iteration == (fail_at - 1) // 2 * 2
    resumed = Walk(seed=1)
    resumed.rng = np.random.default_rng(1)
    resumed.rng.bit_generator.state = _rng_after(1, saved.iteration)
    g = np.random.default_rng(0)
    _, loop = _loop(tmp_path, saved=saved, rng={"g": g})
    res = loop.run(resumed)
    assert res.history == ref.history and res.n_iter == ref.n_iter
    assert res.best_iter == ref.best_iter and np.array_equal(resumed.x, whole.x)
    assert g.bit_generator.state == np.random.default_rng(5).bit_generator.state


def _rng_after(seed, n):
    r = np.random.default_rng(seed)
    r.standard_normal(n)
    return r.bit_generator.state


def test_resume_rejects_a_foreign_checkpoint(tmp_path):
    ck = Checkpointer(tmp_path / "ck", "Walk", {"seed": 1}, every=1)
    ck.save(2, {"x": np.zeros(1)}, extra={"something": 1})
    with pytest.raises(ValueError, match="not written by the fit loop"):
        FitLoop(max_iter=5, saved=ck.load()).run(Walk())
    with pytest.raises(ValueError, match="outside"):
        FitLoop(max_iter=1, saved=ck.load()).run(Walk())


def test_progress_bar_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    FitLoop(max_iter=5, verbose=1, stream=out, desc="Walk").run(Walk())
    text = out.getvalue()
    assert "Walk" in text and "5/5" in text


def test_agree_and_communicator():
    comm = fit_communicator()
    assert comm is current_communicator() and comm.size == 1
    assert agree(comm, lambda: 7) == 7
    with pytest.raises(ValueError, match="bad rows"):
        agree(LocalCommunicator(), lambda: (_ for _ in ()).throw(ValueError("bad rows")))
    with pytest.raises(KeyError):  # only TypeError / ValueError are input errors
        agree(comm, lambda: {}["x"])


@pytest.mark.mpi
def test_agree_raises_on_every_rank():
    comm = current_communicator()
    if comm.size < 2:
        pytest.skip("needs mpiexec -n >= 2")

    def check():
        if comm.rank == 1:
            raise ValueError("rank one's input is bad")
        return comm.rank

    with pytest.raises(ValueError, match="rank one's input is bad"):
        agree(comm, check)
    # a callback that stops on one rank stops every rank at the same iteration
    res = FitLoop(max_iter=6, comm=comm,
                  callbacks=[lambda info: comm.rank == 0 and info.iteration == 2]).run(Walk())
    assert res.n_iter == 2 and res.stopped == "callback"

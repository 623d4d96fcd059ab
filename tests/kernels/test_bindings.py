"""The binding contract: zero copy, argument errors naming the argument, every ISA, no GIL."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import harpdaal
from harpdaal import _core


def test_input_is_not_copied():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert _core.testing.input_address_f32(x) == x.__array_interface__["data"][0]
    view = np.zeros((8, 4), np.float32)[2:5]  # C-contiguous view at an offset
    assert _core.testing.input_address_f32(view) == view.__array_interface__["data"][0]


def test_wrong_dtype_names_argument():
    with pytest.raises(TypeError, match=r"\bx\b.*float32"):
        _core.testing.input_address_f32(np.zeros((2, 2), np.float64))
    with pytest.raises(TypeError, match=r"\bx\b"):
        _core.testing.input_address_f32([[1.0, 2.0]])


def test_non_contiguous_rejected():
    x = np.zeros((4, 6), np.float32)[:, ::2]
    with pytest.raises(ValueError, match="x.*C-contiguous"):
        _core.testing.input_address_f32(x)
    with pytest.raises(ValueError, match="x.*C-contiguous"):
        _core.testing.input_address_f32(np.asfortranarray(np.zeros((3, 4), np.float32)))


def test_read_only_output_rejected():
    x = np.ones((3, 4), np.float32)
    out = np.zeros(3, np.float32)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out.*read-only"):
        _core.common.row_sq_norms_f32(x, out)
    with pytest.raises(ValueError, match="out.*shape"):
        _core.common.row_sq_norms_f32(x, np.zeros(4, np.float32))


@pytest.mark.parametrize("isa", harpdaal.available_isas())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_norms_every_isa(isa, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((257, 19)).astype(dtype)
    want = (x.astype(np.float64) ** 2).sum(axis=1)
    fn = _core.common.row_sq_norms_f32 if dtype == np.float32 else _core.common.row_sq_norms_f64
    previous = harpdaal.active_isa()
    try:
        harpdaal.set_isa(isa)
        assert harpdaal.active_isa() == isa
        out = np.full(257, -1, dtype)
        fn(x, out)
    finally:
        harpdaal.set_isa(previous)
    np.testing.assert_allclose(out, want, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_gil_released_during_kernel():
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    time.sleep(0.02)
    start = time.perf_counter()
    _core.testing.sleep_without_gil(0.3)
    end = time.perf_counter()
    stop.set()
    t.join()
    during = [x for x in ticks if start < x < end]
    # with the GIL held the other thread would not tick at all during the 0.3 s
    assert len(during) >= 20, f"only {len(during)} ticks while the kernel ran"


class TestCommBindings:
    def test_pack_unpack_zero_copy_views(self):
        from harpdaal.comm import _packing

        parts = [np.arange(5, dtype=np.float32), np.arange(6, dtype=np.int64).reshape(2, 3),
                 np.zeros(0, np.float64)]
        buf, offsets = _packing.pack(parts)
        assert buf.dtype == np.uint8 and all(int(o) % 64 == 0 for o in offsets)
        views = _packing.views(buf, _packing.layout_of(enumerate(parts)), offsets)
        for v, p in zip(views, parts):
            np.testing.assert_array_equal(v, p)
            assert np.shares_memory(v, buf) or v.size == 0
        back = [np.empty_like(p) for p in parts]
        _core.comm.unpack(buf, offsets, back)
        for b, p in zip(back, parts):
            np.testing.assert_array_equal(b, p)

    def test_pack_checks(self):
        offsets = np.array([0, 64], np.int64)
        with pytest.raises(ValueError, match="buffer.*read-only"):
            buf = np.zeros(64, np.uint8)
            buf.flags.writeable = False
            _core.comm.pack([np.zeros(4)], offsets, buf)
        with pytest.raises(ValueError, match=r"parts\[0\].*C-contiguous"):
            _core.comm.pack([np.zeros((4, 4))[:, 0]], offsets, np.zeros(64, np.uint8))
        with pytest.raises(ValueError, match=r"parts\[0\].*do not fit"):
            _core.comm.pack([np.zeros(100)], offsets, np.zeros(64, np.uint8))
        with pytest.raises(TypeError, match="buffer"):
            _core.comm.pack([np.zeros(4)], offsets, np.zeros(64, np.float32))

    @pytest.mark.parametrize("isa", harpdaal.available_isas())
    @pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
    def test_combine_every_isa(self, isa, dtype):
        rng = np.random.default_rng(1)
        a = rng.integers(-100, 100, 1001).astype(dtype)
        b = rng.integers(-100, 100, 1001).astype(dtype)
        previous = harpdaal.active_isa()
        try:
            harpdaal.set_isa(isa)
            for op, ref in (("sum", np.add), ("min", np.minimum), ("max", np.maximum)):
                d = a.copy()
                _core.comm.combine(d, b, op)
                np.testing.assert_array_equal(d, ref(a, b))
        finally:
            harpdaal.set_isa(previous)

    def test_combine_checks(self):
        with pytest.raises(ValueError, match="combiner"):
            _core.comm.combine(np.zeros(3), np.zeros(3), "prod")
        with pytest.raises(TypeError, match="src"):
            _core.comm.combine(np.zeros(3), np.zeros(3, np.float32), "sum")
        with pytest.raises(ValueError, match="src.*shape"):
            _core.comm.combine(np.zeros(3), np.zeros(4), "sum")
        with pytest.raises(TypeError, match="dst"):
            _core.comm.combine(np.zeros(3, np.uint8), np.zeros(3, np.uint8), "sum")

    def test_schedules(self):
        targets = np.empty(4, np.int64)
        _core.comm.ring_targets(4, 1, targets)
        assert targets.tolist() == [1, 2, 3, 0]
        sources = np.empty(4, np.int64)
        _core.comm.rotation_sources(np.array([2, 0, 3, 1], np.int64), sources)
        assert sources.tolist() == [1, 3, 0, 2]
        with pytest.raises(ValueError, match="permutation"):
            _core.comm.rotation_sources(np.array([0, 0, 1, 2], np.int64), sources)
        dest = np.empty(3, np.int64)
        with pytest.raises(ValueError, match="id"):
            _core.comm.default_destinations(np.array([1, -2, 3], np.int64), 2, dest)

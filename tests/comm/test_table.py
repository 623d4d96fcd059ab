"""Table and Partition on their own (no communication)."""
from __future__ import annotations

import numpy as np
import pytest

from harpdaal.comm import Partition, Table


def test_add_combines_same_id_without_writing_inputs():
    a = np.array([1.0, 5.0, 3.0])
    b = np.array([4.0, 2.0, 3.0])
    for combiner, want in (("sum", a + b), ("min", np.minimum(a, b)), ("max", np.maximum(a, b)),
                           (lambda x, y: x * y, a * b)):
        t = Table(combiner)
        t.add(Partition(7, a))
        t.add(Partition(7, b))
        np.testing.assert_array_equal(t[7], want)
        np.testing.assert_array_equal(a, [1.0, 5.0, 3.0])
        assert len(t) == 1 and t.ids() == [7] and 7 in t and 8 not in t


def test_non_native_dtype_uses_numpy_combiner():
    t = Table("max")
    t.add(Partition(0, np.array([1, 9], np.uint8)))
    t.add(Partition(0, np.array([5, 2], np.uint8)))
    np.testing.assert_array_equal(t[0], [5, 9])


def test_iteration_sorted_and_remove():
    t = Table()
    for pid in (5, 1, 3):
        t.add(Partition(pid, np.zeros(2)))
    assert [p.id for p in t] == [1, 3, 5]
    assert t.remove(3).shape == (2,)
    assert t.ids() == [1, 5]
    with pytest.raises(KeyError, match="3"):
        t.remove(3)
    with pytest.raises(KeyError, match="9"):
        t[9]


def test_bad_inputs():
    with pytest.raises(ValueError, match="id"):
        Partition(-1, np.zeros(1))
    with pytest.raises(TypeError, match="id"):
        Partition(1.5, np.zeros(1))
    with pytest.raises(TypeError, match="array"):
        Partition(0, [1, 2])
    with pytest.raises(TypeError, match="array"):
        Partition(0, np.array(["a"], dtype=object))
    with pytest.raises(ValueError, match="combiner"):
        Table("prod")
    with pytest.raises(TypeError, match="combiner"):
        Table(3)
    t = Table("sum")
    t.add(Partition(0, np.zeros(2)))
    with pytest.raises(ValueError, match="partition 0"):
        t.add(Partition(0, np.zeros(3)))
    bad = Table(lambda x, y: "nope")
    bad.add(Partition(0, np.zeros(2)))
    with pytest.raises(ValueError, match="combiner returned str"):
        bad.add(Partition(0, np.zeros(2)))
    with pytest.raises(TypeError, match="partition"):
        t.add((0, np.zeros(2)))


def test_arena_partitions_are_views_of_one_buffer_in_id_order():
    t = Table.arena({4: (2, 3), 1: 5, 9: (0,)}, np.float32, combiner="max")
    assert t.ids() == [1, 4, 9] and t.combiner == "max"
    assert t[1].shape == (5,) and t[4].shape == (2, 3) and t[9].shape == (0,)
    assert t[1].dtype == np.float32 and not t[1].any()
    base = t[1].base
    assert t[4].base is base
    assert t[4].__array_interface__["data"][0] == t[1].__array_interface__["data"][0] + 5 * 4
    with pytest.raises(TypeError, match="shapes"):
        Table.arena([(0, 3)])
    with pytest.raises(ValueError, match="shapes"):
        Table.arena({0: (-1,)})
    with pytest.raises(TypeError, match="dtype"):
        Table.arena({0: 2}, dtype=object)


def test_consolidate_copies_once_and_never_writes_inputs():
    a = np.arange(6.0).reshape(2, 3)
    b = np.array([7.0, 8.0])
    t = Table("sum")
    t.add(Partition(3, b))
    t.add(Partition(1, a))
    assert t.consolidate() is t
    np.testing.assert_array_equal(t[1], a)
    np.testing.assert_array_equal(t[3], b)
    assert not np.shares_memory(t[1], a) and t[1].base is t[3].base
    t[1][...] = 0
    assert a[1, 2] == 5.0
    mixed = Table()
    mixed.add(Partition(0, np.zeros(2, np.float32)))
    mixed.add(Partition(1, np.zeros(2, np.float64)))
    with pytest.raises(TypeError, match="several dtypes"):
        mixed.consolidate()

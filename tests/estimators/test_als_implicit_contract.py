"""The `implicit` library's recommender contract, run against harpdaal's ImplicitALS.

Written after ``tests/recommender_base_test.py`` (``RecommenderBaseTestMixin``, 22 tests) of
https://github.com/benfred/implicit (MIT licence, Copyright (c) 2016 Ben Frederickson): one test
here per upstream test, same name, same checks, the model configured as upstream's
``tests/als_test.py`` configures ``AlternatingLeastSquares`` (factors=32, regularization=0,
random_state=23). Upstream branches for other model kinds (item-item nearest neighbours, models
without recalculate/similar_users) do not apply to ALS and are left out. The warning expected
for non-CSR input is harpdaal's ParameterWarning (upstream: implicit.utils.ParameterWarning).
"""
import os
import pickle
import random
import tempfile

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy.sparse import coo_matrix, csr_matrix

from harpdaal.recommend import ImplicitALS, ParameterWarning


def get_checker_board(n):
    """Even users liked even items, odd users odd items; the diagonal is held out."""
    ret = np.zeros((n, n))
    for i in range(n):
        ret[i, i % 2::2] = 1.0
    return csr_matrix(ret - np.eye(n))


def _get_model():
    return ImplicitALS(factors=32, regularization=0, random_state=23)


def _precision_at_k(model, train, test, K):
    """implicit.evaluation.precision_at_k: relevant hits among the top K over min(K, relevant),
    summed over the users with test items."""
    relevant = total = 0
    for u in range(test.shape[0]):
        liked = set(test[u].indices)
        if not liked:
            continue
        ids, _ = model.recommend(u, train[u], N=K)
        relevant += len(liked & set(ids.tolist()))
        total += min(K, len(liked))
    return relevant / total


def test_recommend():
    item_users = get_checker_board(50)
    user_items = item_users.T.tocsr()
    model = _get_model()
    model.fit(item_users, show_progress=False)
    for userid in range(50):
        ids, _ = model.recommend(userid, user_items[userid], N=1)
        assert len(ids) == 1
        assert ids[0] == userid  # the held-out item every similar user liked
    ids, _ = model.recommend(0, user_items[0], N=10000)  # more than there are: all of them
    assert len(ids)
    ids, _ = model.recommend(0, user_items[0], N=1, filter_items=[0])
    assert 0 not in set(ids)


def test_recommend_batch():
    user_items = get_checker_board(50)
    model = _get_model()
    model.fit(user_items, show_progress=False)
    userids = np.arange(50)
    ids, scores = model.recommend(userids, user_items[userids], N=1)
    for userid in userids:
        assert len(ids[userid]) == 1
        assert ids[userid][0] == userid
        ids_user, scores_user = model.recommend(userid, user_items[userid], N=1)
        assert np.allclose(ids_user, ids[userid])
        assert np.allclose(scores_user, scores[userid])
    userids = np.array([2, 3, 4])
    ids, _ = model.recommend(userids, user_items[userids], N=1)
    for i, userid in enumerate(userids):
        assert ids[i][0] == userid
    ids, _ = model.recommend(userids, user_items[userids], N=1, filter_items=[0])
    for i, _ in enumerate(userids):
        assert 0 not in ids[i]
    userids = np.arange(50)
    ids, scores = model.recommend(userids, user_items[userids], N=5,
                                  filter_already_liked_items=False)
    for userid in range(50):
        ids_user, scores_user = model.recommend(userid, user_items[userid], N=5,
                                                filter_already_liked_items=False)
        assert np.allclose(scores_user, scores[userid])
        assert np.allclose(ids_user, ids[userid])


def test_recalculate_user():
    item_users = get_checker_board(50)
    user_items = item_users.T.tocsr()
    model = _get_model()
    model.fit(item_users, show_progress=False)
    userids = np.arange(50)
    batch_ids, batch_scores = model.recommend(userids, user_items[userids], N=1,
                                              recalculate_user=True)
    for userid in range(item_users.shape[1]):
        ids, scores = model.recommend(userid, user_items[userid], N=1)
        assert len(ids) == 1
        user_vector = user_items[userid]
        ids_from_liked, scores_from_liked = model.recommend(userid=0, user_items=user_vector,
                                                            N=1, recalculate_user=True)
        assert ids[0] == ids_from_liked[0]
        assert scores[0] == pytest.approx(scores_from_liked[0], abs=5e-4)
        assert batch_ids[userid][0] == ids_from_liked[0]
        assert batch_scores[userid][0] == pytest.approx(scores_from_liked[0], abs=5e-4)


def test_evaluation():
    item_users = get_checker_board(50)
    user_items = item_users.T.tocsr()
    model = _get_model()
    model.fit(item_users, show_progress=False)
    assert _precision_at_k(model, user_items.tocsr(), csr_matrix(np.eye(50)), K=1) == 1


def test_similar_users():
    model = _get_model()
    model.fit(get_checker_board(50), show_progress=False)
    for userid in range(50):
        ids, _ = model.similar_users(userid, N=10)
        for r in ids:
            assert r % 2 == userid % 2


def test_similar_users_batch():
    model = _get_model()
    model.fit(get_checker_board(256), show_progress=False)
    userids = np.arange(50)
    ids, scores = model.similar_users(userids, N=10)
    assert ids.shape == (50, 10)
    for userid in userids:
        assert ids[userid][0] == userid
        assert scores[userid][0] == pytest.approx(1.0, abs=5e-5)
        for r in ids[userid]:
            assert r % 2 == userid % 2


def test_similar_users_filter():
    model = _get_model()
    model.fit(get_checker_board(256), show_progress=False)
    userids = np.arange(50)
    ids, _ = model.similar_users(userids, N=10, filter_users=np.arange(52) * 5)
    for userid in userids:
        for r in ids[userid]:
            assert r % 5 != 0
    selected = np.arange(10)
    ids, _ = model.similar_users(userids, N=10, users=selected)
    for userid in userids:
        assert set(ids[userid]) == set(selected)


def test_similar_items():
    model = _get_model()
    user_items = get_checker_board(256)
    item_users = user_items.T.tocsr()
    model.fit(user_items, show_progress=False)
    for itemid in range(50):
        ids, scores = model.similar_items(itemid, N=10)
        for r in ids:
            assert r % 2 == itemid % 2
        recalculated_ids, recalculated_scores = model.similar_items(
            itemid, N=10, item_users=item_users[itemid], recalculate_item=False)
        assert np.allclose(ids, recalculated_ids)
        assert np.allclose(scores, recalculated_scores)


def test_similar_items_batch():
    model = _get_model()
    user_items = get_checker_board(256)
    model.fit(user_items, show_progress=False)
    itemids = np.arange(50)

    def check_results(ids):
        assert ids.shape == (50, 10)
        for itemid in itemids:
            assert ids[itemid][0] == itemid
            for r in ids[itemid]:
                assert r % 2 == itemid % 2

    ids, _ = model.similar_items(itemids, N=10)
    check_results(ids)
    ids, _ = model.similar_items(itemids, N=10, recalculate_item=True,
                                 item_users=user_items.T.tocsr()[itemids])
    check_results(ids)


def test_similar_items_filter():
    model = _get_model()
    model.fit(get_checker_board(256), show_progress=False)
    itemids = np.arange(50)
    ids, _ = model.similar_items(itemids, N=10, filter_items=np.arange(52) * 5)
    for itemid in itemids:
        for r in ids[itemid]:
            assert r % 5 != 0
    selected = np.arange(10)
    ids, _ = model.similar_items(itemids, N=10, items=selected)
    for itemid in itemids:
        assert set(ids[itemid]) == set(selected)


def test_zero_length_row():
    item_users = get_checker_board(50).toarray()
    item_users[42] = 0
    item_users[:, 42] = 0
    item_users[49] = 0  # also the last row/column (implicit issue 86)
    item_users[:, 49] = 0
    model = _get_model()
    model.fit(csr_matrix(item_users), show_progress=False)
    for itemid in range(40):  # item 42 has no users: similar to nothing
        ids, _ = model.similar_items(itemid, 10)
        assert 42 not in ids


def test_fit_non_csr_matrix():
    user_items = get_checker_board(50)
    model = _get_model()
    with pytest.warns(ParameterWarning):
        model.fit(user_items.tocoo(), show_progress=False)
    model = _get_model()
    with pytest.warns(ParameterWarning):
        model.fit(user_items.tolil(), show_progress=False)


def test_fit_ordering():
    samples, user_count, item_count = 1000, 100, 200
    rng = np.random.RandomState(10)
    itemids = rng.randint(0, item_count, size=samples, dtype=np.int32)
    userids = rng.randint(0, user_count, size=samples, dtype=np.int32)
    likes = coo_matrix((np.ones(samples), (userids, itemids))).tocsr()
    model = _get_model()
    model.fit(likes, show_progress=False)
    for userid in userids:
        ids, scores = model.recommend(userid, likes[userid])
        assert np.all(np.diff(scores) <= 0)


def test_dtype():
    item_users = get_checker_board(50)
    model = _get_model()
    model.fit(item_users.astype(np.float64), show_progress=False)
    model = _get_model()
    model.fit(item_users.astype(np.float32), show_progress=False)
    assert model.item_factors.dtype == np.float32


def test_rank_items():
    item_users = get_checker_board(50)
    user_items = item_users.T.tocsr()
    model = _get_model()
    model.fit(item_users, show_progress=False)
    selected_items = np.array([1, 2, 3, 4, 5, 6])
    ids, _ = model.recommend(0, user_items[0], items=selected_items, N=20)
    assert len(ids) == len(selected_items)
    assert set(ids) == set(selected_items)
    assert set(ids[3:]) == {2, 4, 6}  # already liked: ranked last
    rnd = random.Random(0)
    for userid in range(50):
        selected_items = rnd.sample(range(50), 10)
        ids, _ = model.recommend(userid, user_items[userid], items=selected_items,
                                 filter_already_liked_items=False)
        assert set(ids) == set(selected_items)
        with pytest.raises(IndexError):
            model.recommend(userid, user_items[userid], items=selected_items + [-1, -3, -5])
        with pytest.raises(IndexError):
            model.recommend(userid, user_items[userid], items=selected_items + [51, 300, 200])


def test_rank_items_batch():
    item_users = get_checker_board(50)
    user_items = item_users.T.tocsr()
    model = _get_model()
    model.fit(item_users, show_progress=False)
    selected_items = np.arange(10) * 3
    ids, _ = model.recommend(np.arange(50), user_items, items=selected_items)
    for userid in range(50):
        assert set(ids[userid]) == set(selected_items)


def test_pickle():
    user_items = get_checker_board(50)
    model = _get_model()
    model.fit(user_items, show_progress=False)
    reloaded = pickle.loads(pickle.dumps(model))
    assert_array_equal(model.recommend(0, user_items[0])[0],
                       reloaded.recommend(0, user_items[0])[0])
    assert_array_equal(model.similar_items(0)[0], reloaded.similar_items(0)[0])


def test_pickle_unfitted_model():
    model = _get_model()
    assert pickle.loads(pickle.dumps(model)).get_params() == model.get_params()


def test_invalid_user_items():
    user_items = get_checker_board(50)
    model = _get_model()
    model.fit(user_items, show_progress=False)
    with pytest.raises(ValueError):
        model.recommend(0, user_items=user_items.tocsc())
    with pytest.raises(ValueError):
        model.recommend(0, user_items=user_items.tocoo())


def test_serialization():
    likes = get_checker_board(50)
    model = _get_model()
    model.fit(likes, show_progress=False)
    with tempfile.TemporaryDirectory() as tmpdir:
        filename = os.path.join(tmpdir, "model.npz")
        model.save(filename)
        reloaded = model.load(filename)
        assert_array_equal(model.similar_items(1)[0], reloaded.similar_items(1)[0])
        assert_array_equal(model.similar_items(1)[1], reloaded.similar_items(1)[1])
    with tempfile.TemporaryDirectory() as tmpdir:
        with open(os.path.join(tmpdir, "model.npz"), "wb+") as f:
            model.save(f)
            f.seek(0)
            reloaded = model.load(f)
            assert_array_equal(model.similar_items(1)[0], reloaded.similar_items(1)[0])
            assert_array_equal(model.similar_items(1)[1], reloaded.similar_items(1)[1])


def test_serialization_without_fit():
    model = _get_model()
    with tempfile.TemporaryDirectory() as tmpdir:
        filename = os.path.join(tmpdir, "model.npz")
        model.save(filename)
        reloaded = model.load(filename)
        assert model.__dict__ == reloaded.__dict__


def test_fit_callback():
    model = _get_model()
    num_called = 0

    def callback(*args, **kwargs):
        nonlocal num_called
        num_called += 1

    model.fit(get_checker_board(5), show_progress=False, callback=callback)
    assert num_called >= 1

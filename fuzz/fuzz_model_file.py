"""Fuzz target: model files (harpdaal._persist) through the estimators' load. The first input
byte picks the estimator; the rest is the file. A load either refuses cleanly (ValueError /
TypeError naming the problem) or gives a model that predicts without crashing."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402

import numpy as np  # noqa: E402

import harpdaal._persist as _persist  # noqa: E402
import harpdaal.recommend._mf as _mf  # noqa: E402
import harpdaal.topic._lda as _lda  # noqa: E402
from harpdaal.recommend import MatrixFactorization  # noqa: E402
from harpdaal.topic import LatentDirichletAllocation  # noqa: E402

_harness.instrument(_persist, _mf, _lda)
PATH = _harness.input_path(".npz")
CLASSES = [MatrixFactorization, LatentDirichletAllocation]
try:
    import harpdaal.cluster._kmeans as _km  # noqa: E402
    from harpdaal.cluster import KMeans  # noqa: E402

    if hasattr(KMeans, "_from_model"):
        _harness.instrument(_km)
        CLASSES.append(KMeans)
except ImportError:
    pass


def _use(model):
    if isinstance(model, MatrixFactorization):
        if model.user_ids_.size and model.item_ids_.size:
            model.predict(model.user_ids_[:3], model.item_ids_[:1].repeat(min(3, model.user_ids_.size)))
            model.recommend(int(model.user_ids_[0]), n=2)
    elif isinstance(model, LatentDirichletAllocation):
        X = np.ones((2, model.n_features_in_), dtype=np.int64)
        model.transform(X)
    else:
        model.predict(np.zeros((2, model.cluster_centers_.shape[1]), model.cluster_centers_.dtype))


def test_one_input(data: bytes):
    if not data:
        return
    cls = CLASSES[data[0] % len(CLASSES)]
    model = _harness.load(PATH, data[1:], cls.load)
    if model is None:
        return
    try:
        _use(model)
    except _harness.CLEAN:
        pass


if __name__ == "__main__":
    _harness.run(test_one_input)

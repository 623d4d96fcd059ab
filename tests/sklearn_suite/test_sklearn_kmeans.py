"""scikit-learn's own KMeans and MiniBatchKMeans tests, from the installed scikit-learn, on
harpdaal.cluster.KMeans and harpdaal.cluster.MiniBatchKMeans.

``sklearn/cluster/tests/test_k_means.py`` is imported with ``sklearn.cluster.KMeans`` and
``sklearn.cluster.MiniBatchKMeans`` replaced by harpdaal's classes (only while that module is
imported: it takes the names, and the ``Estimator`` parametrizations built from them, from
``sklearn.cluster``), and its test functions are collected here. Its two tests of scikit-learn's
private ``_mini_batch_step`` get ``_harpdaal_step.mini_batch_step``, the same signature on
harpdaal's step. conftest.py marks the expected failures below and prints a count per class.
"""
import importlib
import sys

import sklearn.cluster
import sklearn.cluster._kmeans

from harpdaal.cluster import KMeans, MiniBatchKMeans

from _harpdaal_step import mini_batch_step

_NAME = "sklearn.cluster.tests.test_k_means"

_swapped = [(sklearn.cluster, "KMeans", KMeans), (sklearn.cluster, "MiniBatchKMeans", MiniBatchKMeans),
            (sklearn.cluster._kmeans, "_mini_batch_step", mini_batch_step)]
_originals = [getattr(mod, name) for mod, name, _ in _swapped]
for mod, name, ours in _swapped:
    setattr(mod, name, ours)
try:
    sys.modules.pop(_NAME, None)
    suite = importlib.import_module(_NAME)
finally:
    for (mod, name, _), original in zip(_swapped, _originals):
        setattr(mod, name, original)
assert suite.KMeans is KMeans and suite.MiniBatchKMeans is MiniBatchKMeans
assert suite._mini_batch_step is mini_batch_step

for _name in dir(suite):
    if _name.startswith("test_"):
        globals()[_name] = getattr(suite, _name)

# cases of the suite that scikit-learn itself runs, per class: the counts' totals
FULL_SUITE_SIZE = {"KMeans": 177, "MiniBatchKMeans": 87}

# test name (with its parameters) or function name -> why harpdaal fails it (also in
# docs/kmeans.md, "scikit-learn compatibility")
EXPECTED_FAILED: dict[str, str] = {}

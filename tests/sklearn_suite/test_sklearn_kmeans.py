"""scikit-learn's own KMeans tests, from the installed scikit-learn, on harpdaal.cluster.KMeans.

``sklearn/cluster/tests/test_k_means.py`` is imported with ``sklearn.cluster.KMeans`` replaced by
:class:`harpdaal.cluster.KMeans` (only while that module is imported: it takes the name, and the
``Estimator`` parametrizations built from it, from ``sklearn.cluster``), and its test functions
are collected here. conftest.py leaves out the MiniBatchKMeans cases, marks the expected failures
below and prints the count.
"""
import importlib
import sys

import sklearn.cluster

from harpdaal.cluster import KMeans

_NAME = "sklearn.cluster.tests.test_k_means"

_original = sklearn.cluster.KMeans
sklearn.cluster.KMeans = KMeans
try:
    sys.modules.pop(_NAME, None)
    suite = importlib.import_module(_NAME)
finally:
    sklearn.cluster.KMeans = _original
assert suite.KMeans is KMeans

for _name in dir(suite):
    if _name.startswith("test_"):
        globals()[_name] = getattr(suite, _name)

# cases of the suite (MiniBatch left out) that scikit-learn itself runs: the count's total
FULL_SUITE_SIZE = 177

# test name (with its parameters) or function name -> why harpdaal fails it (also in
# docs/kmeans.md, "scikit-learn compatibility")
EXPECTED_FAILED: dict[str, str] = {}

"""A/B runner for two builds of harpdaal in one venv (the editable install is bypassed).

    python benchmarks/kmeans_ab.py NAME script.py [args...]

runs script.py against the package in /tmp/kmNAME/harpdaal: a copy of python/harpdaal with the
_core .so of the build to test (copy it from site-packages after each `pip install -e .`), so
both builds are loaded the same way. Needs LD_LIBRARY_PATH=<venv>/lib (the .so finds libtbb
through $ORIGIN/../../.. in site-packages only). Used for the fourth K-means shift
(docs/kmeans.md), e.g. NAME=old (main 28848f4) and NAME=new, runs interleaved.
"""
import runpy
import sys

sys.meta_path = [f for f in sys.meta_path
                 if "editable" not in repr(f).lower() and "skbc" not in repr(f).lower()]
sys.path.insert(0, "/tmp/km" + sys.argv[1])
script = sys.argv[2]
sys.argv = sys.argv[2:]
runpy.run_path(script, run_name="__main__")

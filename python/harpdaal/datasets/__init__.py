"""Data-set readers: bag-of-words corpora (UCI, lda-c), idx arrays (MNIST, fashion-mnist) and
rating files (MovieLens, ``user item rating`` text)."""
from .bow import load_20news, load_bow, load_ldac, load_reuters, load_uci_docword, read_vocab
from .idx import load_idx
from .ncf import load_ncf_negatives
from .ratings import load_ratings

__all__ = ["load_20news", "load_bow", "load_idx", "load_ldac", "load_ncf_negatives", "load_ratings", "load_reuters",
           "load_uci_docword", "read_vocab"]

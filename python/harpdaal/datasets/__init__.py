"""Data-set loaders (real corpora from HARPDAAL_DATA / shared/data)."""
from .bow import load_20news, load_bow, load_ldac, load_reuters, load_uci_docword, read_vocab

__all__ = ["load_20news", "load_bow", "load_ldac", "load_reuters", "load_uci_docword", "read_vocab"]

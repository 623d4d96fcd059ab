"""Topic models: :class:`LatentDirichletAllocation` by collapsed Gibbs sampling."""
from ._corpus import as_token_corpus
from ._lda import LatentDirichletAllocation

__all__ = ["LatentDirichletAllocation", "as_token_corpus"]

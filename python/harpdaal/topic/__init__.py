"""Topic models: :class:`LatentDirichletAllocation` by collapsed Gibbs sampling."""
from ._lda import LatentDirichletAllocation, as_token_corpus

__all__ = ["LatentDirichletAllocation", "as_token_corpus"]

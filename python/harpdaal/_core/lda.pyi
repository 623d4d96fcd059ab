"""
LDA collapsed Gibbs sampling kernels
"""
from __future__ import annotations
import typing
__all__: list[str] = ['ROW_COST_PER_TOPIC', 'accumulate_counts', 'doc_log_likelihood', 'fold_in', 'sample_block', 'warp_doc_phase', 'warp_word_phase', 'word_log_likelihood', 'word_order']
def accumulate_counts(words: typing.Any, topics: typing.Any, word_topic: typing.Any, word_begin: typing.SupportsInt | typing.SupportsIndex, topic_totals: typing.Any) -> None:
    ...
def doc_log_likelihood(doc_ptr: typing.Any, topics: typing.Any, n_topics: typing.SupportsInt | typing.SupportsIndex, alpha: typing.SupportsFloat | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> float:
    ...
def fold_in(doc_ptr: typing.Any, words: typing.Any, topics: typing.Any, first_doc_id: typing.SupportsInt | typing.SupportsIndex, word_topic: typing.Any, topic_totals: typing.Any, alpha: typing.SupportsFloat | typing.SupportsIndex, beta: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, n_sweeps: typing.SupportsInt | typing.SupportsIndex, burn_in: typing.SupportsInt | typing.SupportsIndex, mh_steps: typing.SupportsInt | typing.SupportsIndex, doc_topic: typing.Any, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
    """
    Sample topics of new documents against a fixed model; doc_topic (float32) accumulates doc-topic counts over the sweeps after burn_in.
    """
def sample_block(doc_ptr: typing.Any, words: typing.Any, topics: typing.Any, first_doc_id: typing.SupportsInt | typing.SupportsIndex, word_topic: typing.Any, word_begin: typing.SupportsInt | typing.SupportsIndex, topic_totals: typing.Any, alpha: typing.SupportsFloat | typing.SupportsIndex, beta: typing.SupportsFloat | typing.SupportsIndex, n_words_total: typing.SupportsInt | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, iteration: typing.SupportsInt | typing.SupportsIndex, mh_steps: typing.SupportsInt | typing.SupportsIndex = 2, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, time_limit: typing.SupportsFloat | typing.SupportsIndex = 0.0, doc_offset: typing.SupportsInt | typing.SupportsIndex = 0) -> int:
    """
    One sweep over the tokens of a document block whose word lies in the word_topic slice [word_begin, word_begin + len(word_topic)); updates topics, word_topic, topic_totals. time_limit > 0 (seconds) ends the sweep early (timer-bounded step); doc_offset rotates each thread's starting document. Returns the number of tokens sampled.
    """
def warp_doc_phase(doc_ptr: typing.Any, topics: typing.Any, props: typing.Any, accept: bool, topic_totals: typing.Any, alpha: typing.SupportsFloat | typing.SupportsIndex, beta: typing.SupportsFloat | typing.SupportsIndex, n_words_total: typing.SupportsInt | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, iteration: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, corr: typing.Any = None) -> int:
    """
    Word-major sampler, document phase: accepts the word proposals (accept=True), draws document proposals. Returns the accepted moves.
    """
def warp_word_phase(word_ptr: typing.Any, order: typing.Any, topics: typing.Any, topics_by_word: typing.Any, props: typing.Any, word_topic: typing.Any, word_begin: typing.SupportsInt | typing.SupportsIndex, topic_totals: typing.Any, alpha: typing.SupportsFloat | typing.SupportsIndex, beta: typing.SupportsFloat | typing.SupportsIndex, n_words_total: typing.SupportsInt | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, iteration: typing.SupportsInt | typing.SupportsIndex, stream: typing.SupportsInt | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex = 0, corr: typing.Any = None) -> int:
    """
    Word-major sampler, word phase over the rows of word_topic: adds the document phase's moves, accepts the document proposals, draws word proposals.
    """
def word_log_likelihood(word_topic: typing.Any, beta: typing.SupportsFloat | typing.SupportsIndex, n_threads: typing.SupportsInt | typing.SupportsIndex = 0) -> float:
    ...
def word_order(words: typing.Any, word_ptr: typing.Any, order: typing.Any) -> None:
    """
    Token positions grouped by word: fills word_ptr (n_words + 1) and order (n_tokens).
    """
ROW_COST_PER_TOPIC: float = 0.08

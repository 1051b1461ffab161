"""Text helpers shared by the evaluators, cached so that evaluators of one interaction
tokenize each text once (answers, questions and documents recur across evaluators)."""

from __future__ import annotations

import functools
import string
from collections.abc import Iterable

# Tokenizing by translating punctuation to spaces and splitting is several times faster
# than a Unicode word regex, which matters on the request path.
_PUNCTUATION = (
    string.punctuation
    + "\u201c\u201d\u2018\u2019\u201a\u201e\u00ab\u00bb\u2039\u203a"
    + "\u2013\u2014\u2026\u00b7\u2022\u00a1\u00bf\u00a0"
)
_PUNCTUATION_TO_SPACE = str.maketrans(dict.fromkeys(_PUNCTUATION, " "))
# One character for one character keeps ``str.translate`` on its fast path.
_SENTENCE_MARKS = str.maketrans({**dict.fromkeys(_PUNCTUATION, " "), **dict.fromkeys(".!?", "\n")})
STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been
    being it its this that these those i you he she we they me my your our their what
    which who how when where why do does did can could should would will shall may might
    must not no yes so than then there here about into over under up down out just also
    very more most some any der die das und oder aber ein eine einer eines ist sind war
    waren zu im in am an auf mit von für wie was wer wo warum nicht auch sich es ich du
    sie wir ihr den dem des bei nach""".split()
)
_CACHE_SIZE = 256


@functools.lru_cache(maxsize=_CACHE_SIZE)
def words(text: str) -> tuple[str, ...]:
    """Lower-cased words of ``text``."""
    return tuple(text.lower().translate(_PUNCTUATION_TO_SPACE).split())


def _content(tokens: Iterable[str]) -> frozenset[str]:
    candidates = set(tokens) - STOPWORDS
    return frozenset([w for w in candidates if len(w) > 2])


@functools.lru_cache(maxsize=_CACHE_SIZE)
def content_words(text: str) -> frozenset[str]:
    """Lower-cased words that carry meaning (numbers too): three characters or more, not
    stopwords."""
    return _content(words(text))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def sentence_content_words(text: str) -> tuple[frozenset[str], ...]:
    """The content words of each sentence of ``text`` that has any."""
    content = (
        _content(line.split()) for line in text.lower().translate(_SENTENCE_MARKS).split("\n")
    )
    return tuple(claim for claim in content if claim)


def ngrams(tokens: tuple[str, ...], n: int) -> set[tuple[str, ...]]:
    return set(zip(*(tokens[i:] for i in range(n)), strict=False))


def overlap(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> float:
    """Share of ``a`` found in ``b`` (0 when ``a`` is empty)."""
    return len(a & b) / len(a) if a else 0.0

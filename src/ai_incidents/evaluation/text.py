"""Text helpers shared by the evaluators, cached so that evaluators of one interaction
tokenize each text once (answers, questions and documents recur across evaluators).

Words are the lower-cased runs of letters and digits: everything else separates them.
ASCII punctuation is replaced on the UTF-8 bytes: ``bytes.translate`` costs the same on any
text, while ``str.translate`` falls off its fast path as soon as a text holds one non-ASCII
character (a curly quote is enough) and then costs ten times as much. The few non-ASCII
characters of a text that are not letters or digits are replaced one by one.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from collections.abc import Callable

_ASCII = bytes(range(128))
_ASCII_PUNCTUATION = string.punctuation.encode()
# The ASCII characters ``str.split`` breaks at, besides space.
ASCII_WHITESPACE = b"\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_PUNCTUATION_TO_SPACE = bytes.maketrans(_ASCII_PUNCTUATION, b" " * len(_ASCII_PUNCTUATION))
_SEPARATORS_TO_SPACE = bytes.maketrans(
    _ASCII_PUNCTUATION + ASCII_WHITESPACE,
    b" " * (len(_ASCII_PUNCTUATION) + len(ASCII_WHITESPACE)),
)
# Sentence ends become line breaks, and every other separator a space.
_SENTENCE_MARKS = bytes.maketrans(
    _ASCII_PUNCTUATION + ASCII_WHITESPACE.replace(b"\n", b""),
    bytes(ord("\n") if c in b".!?" else ord(" ") for c in _ASCII_PUNCTUATION)
    + b" " * (len(ASCII_WHITESPACE) - 1),
)
_SPACE_RUN = re.compile(rb"  +")
# Letters that case-insensitive matching reads as ASCII letters and ``str.lower`` does not
# make ASCII: long s, dotless i, dotted capital I, Kelvin sign.
_ASCII_LOOKALIKES = {"\u017f": "s", "\u0131": "i", "\u0130": "I", "\u212a": "K"}
STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been
    being it its this that these those i you he she we they me my your our their what
    which who how when where why do does did can could should would will shall may might
    must not no yes so than then there here about into over under up down out just also
    very more most some any der die das und oder aber ein eine einer eines ist sind war
    waren zu im in am an auf mit von für wie was wer wo warum nicht auch sich es ich du
    sie wir ihr den dem des bei nach""".split()
)
# Small caches: each interaction's texts are reused within it; keeping more alive costs
# more in CPU cache misses than it saves. Documents recur across calls (a knowledge
# base), so their word sets are kept longer.
_CACHE_SIZE = 16
_DOCUMENT_CACHE_SIZE = 64


@functools.lru_cache(maxsize=_CACHE_SIZE)
def lowercase(text: str) -> str:
    """``text`` lower-cased, the ASCII look-alike letters made ASCII first: what a
    case-insensitive pattern sees, one character for one."""
    if not text.isascii():
        for letter, ascii_letter in _ASCII_LOOKALIKES.items():
            if letter in text:
                text = text.replace(letter, ascii_letter)
    return text.lower()


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _lowered_utf8(text: str) -> bytes:
    """``lowercase(text)`` in UTF-8, each non-ASCII character that is not a letter or a
    digit replaced by a space (a lone surrogate, which UTF-8 cannot hold, too)."""
    lowered = lowercase(text)
    data = lowered.encode(errors="replace")
    return data if lowered.isascii() else blank_non_ascii(data, _is_separator)


def _is_separator(character: str) -> bool:
    return not character.isalnum()


def blank_non_ascii(data: bytes, blank: Callable[[str], bool]) -> bytes:
    """UTF-8 ``data`` with each non-ASCII character that ``blank`` selects made a space
    (found by deleting the ASCII bytes, so each distinct character is looked at once)."""
    for character in set(data.translate(None, _ASCII).decode()):
        if blank(character):
            data = data.replace(character.encode(), b" ")
    return data


def single_spaced(data: bytes) -> bytes:
    """``data`` with each run of spaces made one space: pairs by a fast replace, and the
    longer runs that remain (indented code) by one regex pass."""
    if b"  " not in data:
        return data
    data = data.replace(b"  ", b" ")
    return _SPACE_RUN.sub(b" ", data) if b"  " in data else data


def _normalized(text: str, table: bytes) -> str:
    """``lowercase(text)`` with ASCII punctuation replaced as ``table`` says and the other
    separators by a space, position for position."""
    return _lowered_utf8(text).translate(table).decode()


@functools.lru_cache(maxsize=_CACHE_SIZE)
def words(text: str) -> tuple[str, ...]:
    """Lower-cased words of ``text``, in order."""
    return tuple(_normalized(text, _PUNCTUATION_TO_SPACE).split())


@functools.lru_cache(maxsize=_CACHE_SIZE)
def spaced(text: str) -> str:
    """``lowercase(text)`` with every separator a space, and a space at either end: the
    word ``w`` of ``words(text)`` is where `` w `` is, at its position in ``lowercase``."""
    return f" {_normalized(text, _SEPARATORS_TO_SPACE)} "


@functools.lru_cache(maxsize=_CACHE_SIZE)
def word_set(text: str) -> frozenset[str]:
    """The distinct lower-cased words of ``text``."""
    return frozenset(words(text))


@functools.lru_cache(maxsize=_DOCUMENT_CACHE_SIZE)
def document_words(text: str) -> frozenset[str]:
    """The distinct lower-cased words of a retrieved document (its word order is never
    needed, so it is not kept)."""
    return frozenset(_normalized(text, _PUNCTUATION_TO_SPACE).split())


@functools.lru_cache(maxsize=_CACHE_SIZE)
def content_words(text: str) -> frozenset[str]:
    """Lower-cased words that carry meaning (numbers too): three characters or more, not
    stopwords."""
    return frozenset([w for w in word_set(text) - STOPWORDS if len(w) > 2])


@functools.lru_cache(maxsize=_CACHE_SIZE)
def sentence_content_words(text: str) -> tuple[frozenset[str], ...]:
    """The content words of each sentence of ``text`` that has any.

    Sentences are cut from ``words(text)`` by counting each line's spaces, rather than by
    splitting the text into words a second time.
    """
    content = content_words(text)
    tokens = words(text)
    lines = single_spaced(_lowered_utf8(text).translate(_SENTENCE_MARKS)).decode().split("\n")
    claims, start = [], 0
    for line in lines:
        line = line.strip(" ")
        end = start + line.count(" ") + 1 if line else start
        claims.append(content.intersection(tokens[start:end]))
        start = end
    if start != len(tokens):  # should a count ever disagree with words(), split instead
        claims = list(map(content.intersection, map(str.split, lines)))
    return tuple(claim for claim in claims if claim)


# Cyrillic and Greek letters drawn like Latin ones: read as Latin inside a word that mixes
# them with Latin letters ("ignore" written with a Cyrillic i, o and e), left alone in a
# Russian or Greek word.
_LATIN_LOOKALIKES = str.maketrans(
    "асеорхуіјѕԁһӏԛԝАВСЕНІЈКМОРЅТХУαβεικνορτυχΑΒΕΗΙΚΜΝΟΡΤΥΧ",
    "aceopxyijsdhlqwABCEHIJKMOPSTXYabeikvoptuxABEHIKMNOPTYX",
)
_MIXED_SCRIPT_WORD = re.compile(r"\w*(?:[a-zA-Z][\u0370-\u04ff]|[\u0370-\u04ff][a-zA-Z])\w*")
_GREEK_OR_CYRILLIC = re.compile(r"[\u0370-\u04ff]")
# Invisible format characters (zero-width spaces and joiners, direction marks, the soft
# hyphen), which split a word for a reader of code points and not for a reader of text.
_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


@functools.lru_cache(maxsize=_CACHE_SIZE)
def folded(text: str) -> str:
    """``text`` as a reader sees it: compatibility forms made plain (NFKC: full-width
    letters, ligatures, mathematical alphabets), invisible format characters removed, and
    Cyrillic or Greek look-alike letters inside a Latin word made Latin. ASCII text is
    returned as it is."""
    if text.isascii():
        return text
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    if _GREEK_OR_CYRILLIC.search(text):
        text = _MIXED_SCRIPT_WORD.sub(lambda m: m.group().translate(_LATIN_LOOKALIKES), text)
    return text


def head_and_tail(text: str, limit: int) -> str:
    """``text``, or of a longer text its first ``limit // 2`` and last ``limit - limit // 2``
    characters, joined by a line break: where instructions to a model sit."""
    if len(text) <= limit:
        return text
    head = limit // 2
    return f"{text[:head]}\n{text[len(text) - (limit - head) :]}"


def cache_clear() -> None:
    """Forget every cached tokenization (for benchmarks that measure cold texts)."""
    caches = (
        folded,
        lowercase,
        _lowered_utf8,
        words,
        spaced,
        word_set,
        document_words,
        content_words,
        sentence_content_words,
    )
    for cached in caches:
        cached.cache_clear()


def ngrams(tokens: tuple[str, ...], n: int) -> set[tuple[str, ...]]:
    return set(zip(*(tokens[i:] for i in range(n)), strict=False))


def overlap(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> float:
    """Share of ``a`` found in ``b`` (0 when ``a`` is empty)."""
    return len(a & b) / len(a) if a else 0.0


def stemmed_overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Share of ``a`` found in ``b``, a word also counting when its stem is the stem of one
    of ``b``'s ("refund" and "refunds", "orders" and "order", "shipping" and "shipped")."""
    if not a:
        return 0.0
    missing = a - b
    if not missing:
        return 1.0
    found = len(a) - len(missing)
    b_stems = stems(b)
    found += sum(1 for word in missing if stem(word) in b_stems)
    return found / len(a)


_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "ly", "s")


@functools.lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """A crude English stem: the word without its inflection (enough to match forms)."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stemmed = word[: -len(suffix)]
            return stemmed + "y" if suffix in ("ies", "ied") else stemmed
    return word


@functools.lru_cache(maxsize=_DOCUMENT_CACHE_SIZE)
def stems(words_: frozenset[str]) -> frozenset[str]:
    return frozenset(map(stem, words_))

"""How names are compared: normalisation, phonetic codes and nicknames.

Search, matching and the generator all use these functions, so a nickname the generator introduces is the
same nickname search and matching understand. Phonetic codes are Metaphone (``jellyfish``); nicknames come
from the ``nicknames`` package (US-centred) plus a short list of names common for children in England.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import jellyfish
from nicknames import NickNamer

_NOT_LETTER = re.compile(r"[^A-Z]")
_PARTS = re.compile(r"[\s\-]+")

# Diminutive -> full names, for names common among children in England that the nicknames package lacks
# or gets wrong. Both directions are used.
UK_NICKNAMES: dict[str, tuple[str, ...]] = {
    "alfie": ("alfred",), "archie": ("archibald",), "harry": ("henry", "harold", "harrison"),
    "ollie": ("oliver", "olivia"), "olly": ("oliver",), "charlie": ("charles", "charlotte"),
    "freddie": ("frederick", "alfred"), "freddy": ("frederick",), "evie": ("eve", "evelyn", "eva"),
    "millie": ("amelia", "millicent", "mildred"), "milly": ("amelia",), "ellie": ("eleanor", "ella", "elena"),
    "izzy": ("isabella", "isabelle", "isobel"), "issy": ("isabella", "isobel"), "bella": ("isabella", "arabella"),
    "maisie": ("margaret",), "molly": ("mary",), "polly": ("mary",), "lottie": ("charlotte",),
    "rosie": ("rose", "rosemary", "rosalind"), "sam": ("samuel", "samantha"), "sammy": ("samuel", "samantha"),
    "tom": ("thomas",), "tommy": ("thomas",), "jack": ("john",), "johnny": ("john", "jonathan"),
    "alex": ("alexander", "alexandra"), "lexi": ("alexandra", "alexis"), "kate": ("katherine", "catherine"),
    "katie": ("katherine", "catherine", "kaitlyn"), "liz": ("elizabeth",), "lizzie": ("elizabeth",),
    "beth": ("elizabeth", "bethany"), "betty": ("elizabeth",), "jim": ("james",), "jimmy": ("james",),
    "jamie": ("james",), "ben": ("benjamin",), "benji": ("benjamin",), "dan": ("daniel",), "danny": ("daniel",),
    "nat": ("nathan", "natalie", "nathaniel"), "zach": ("zachary",), "theo": ("theodore",),
    "teddy": ("edward", "theodore"),
    "ted": ("edward",), "eddie": ("edward",), "max": ("maximilian", "maxwell"), "bobby": ("robert",),
    "rob": ("robert",), "robbie": ("robert",), "bob": ("robert",), "josh": ("joshua",), "jake": ("jacob",),
    "matt": ("matthew",), "matty": ("matthew",), "nick": ("nicholas",), "nicky": ("nicholas", "nicola"),
    "will": ("william",), "billy": ("william",), "bill": ("william",), "liam": ("william",),
    "gracie": ("grace",), "abbie": ("abigail",), "abby": ("abigail",), "ella": ("eleanor", "gabriella"),
    "gabby": ("gabriella", "gabrielle"), "sophie": ("sophia",), "jess": ("jessica",), "jessie": ("jessica",),
    "becky": ("rebecca",), "becca": ("rebecca",), "vicky": ("victoria",), "tori": ("victoria",),
    "mike": ("michael",), "mikey": ("michael",), "chris": ("christopher", "christine", "christina"),
    "kit": ("christopher",), "andy": ("andrew",), "drew": ("andrew",), "joe": ("joseph",), "joey": ("joseph",),
    "tony": ("anthony",), "steve": ("stephen", "steven"), "fred": ("frederick",), "reggie": ("reginald",),
    "frankie": ("francis", "frances", "frank"), "lou": ("louis", "louise"), "lulu": ("louise", "lucy"),
    "annie": ("anne", "anna"), "nell": ("eleanor", "helen"), "nellie": ("eleanor", "helen"),
    "georgie": ("george", "georgia", "georgina"), "finn": ("finley", "finlay"), "seb": ("sebastian",),
    "toby": ("tobias",), "olly-mae": ("olivia",), "poppy": ("penelope",), "penny": ("penelope",),
    "daisy": ("margaret",), "hattie": ("harriet",), "hetty": ("harriet", "henrietta"), "kitty": ("katherine",),
}

# Every name in UK_NICKNAMES, short or full.
_UK_NAMES = frozenset(UK_NICKNAMES) | frozenset(full for fulls in UK_NICKNAMES.values() for full in fulls)

_namer: NickNamer | None = None


def _nicknamer() -> NickNamer:
    global _namer
    if _namer is None:
        _namer = NickNamer()
    return _namer


@lru_cache(maxsize=131072)
def normalise_name(raw: str) -> str:
    """Upper-case ASCII letters only: 'Zoë O'Brien-Smith' -> 'ZOEOBRIENSMITH'."""
    decomposed = unicodedata.normalize("NFKD", raw)
    ascii_only = decomposed.encode("ascii", "ignore").decode()
    return _NOT_LETTER.sub("", ascii_only.upper())


@lru_cache(maxsize=131072)
def name_parts(raw: str) -> tuple[str, ...]:
    """The whole name and, for double-barrelled or multi-word names, each part: 'Smith-Jones' gives
    ('SMITHJONES', 'SMITH', 'JONES')."""
    whole = normalise_name(raw)
    parts = [normalise_name(p) for p in _PARTS.split(raw.strip()) if normalise_name(p)]
    out = [whole] if whole else []
    if len(parts) > 1:
        out.extend(p for p in parts if p not in out)
    return tuple(out)


@lru_cache(maxsize=65536)
def phonetic(normalised: str) -> str:
    if not normalised:
        return ""
    return jellyfish.metaphone(normalised) or normalised


@lru_cache(maxsize=65536)
def name_roots(normalised_given: str) -> frozenset[str]:
    """The given name and the full names it may be short for (normalised). 'BILL' -> {'BILL', 'WILLIAM'}.

    Used on both sides of every comparison, so Bill finds William and William finds Bill."""
    lower = normalised_given.lower()
    roots = {normalised_given}
    for full in UK_NICKNAMES.get(lower, ()):
        roots.add(normalise_name(full))
    if lower and lower not in UK_NICKNAMES:
        # The package's list maps many diminutives to implausible roots (Bill -> Robert); we take its
        # canonical names only where ours says nothing.
        roots.update(normalise_name(c) for c in _nicknamer().canonicals_of(lower))
    return frozenset(r for r in roots if r)


@lru_cache(maxsize=65536)
def known_name(normalised: str) -> bool:
    """A given name the nickname lists know, as a full name or a short one."""
    lower = normalised.lower()
    return (lower in _UK_NAMES or bool(_nicknamer().nicknames_of(lower))
            or bool(_nicknamer().canonicals_of(lower)))


@lru_cache(maxsize=65536)
def forenames(raw_given: str) -> tuple[str, ...] | None:
    """The forenames a given-name field holds (normalised), when it holds several: systems with one field for a
    child's forenames send "Amelia Rose" where others send "Amelia" and the middle name apart. Read so only when
    it looks like several names: words of three letters or more that together are not a name the nickname lists
    know. A stray space is a typo of one name ("Isabe lla", "Laur a": one FEBRL4 given name in eighty has one).
    (Asking that one of the words be a name the lists know as well left "Ruby Emilia" and "Maya Jade" whole: the
    lists are American.)"""
    words = tuple(normalise_name(w) for w in raw_given.split())
    if len(words) < 2 or any(len(w) < 3 for w in words) or known_name("".join(words)):
        return None
    return words


@lru_cache(maxsize=65536)
def forename_roots(raw_given: str) -> frozenset[str]:
    """``name_roots`` of a given name as a source wrote it, and of its first forename when it holds several
    (``forenames``): Amelia Rose is Amelia (and Millie) to matching and to the discrepancy report alike."""
    whole = normalise_name(raw_given)
    roots = set(name_roots(whole)) if whole else set()
    if several := forenames(raw_given):
        roots |= name_roots(several[0])
    return frozenset(roots)


@lru_cache(maxsize=65536)
def forename_keys(raw_given: str) -> frozenset[str]:
    """``given_keys`` of a given name as a source wrote it, and of its first forename when it holds several: the
    blind index's given-name tokens, so that "Ivy Rosemary" from one source finds the child another knows as Ivy."""
    return frozenset(phonetic(r) for r in forename_roots(raw_given))


@lru_cache(maxsize=65536)
def given_keys(normalised_given: str) -> frozenset[str]:
    """Phonetic codes of a given name and its roots: equal keys mean 'possibly the same given name'."""
    return frozenset(phonetic(r) for r in name_roots(normalised_given))


def nicknames_of(full_name: str) -> tuple[str, ...]:
    """Diminutives of a full name (for the generator). Ours first, then the package's."""
    lower = full_name.lower()
    ours = tuple(nick for nick, fulls in UK_NICKNAMES.items() if lower in fulls)
    theirs = tuple(sorted(_nicknamer().nicknames_of(lower)))
    return ours + tuple(n for n in theirs if n not in ours)

"""What every part of a run shares: name pools, schools and practices, address makers, identifier generators,
and the plan that splits the children into chunks.

The children are generated in chunks whose number depends only on how many children there are, never on how
many processes run them. Each chunk draws from RNG streams of its own and owns its own slice of every LA's
schools (so UPN serials and admission numbers, counted per school, never clash between chunks). A chunk's
output is therefore the same whichever process makes it, and the files are its parts joined in order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from math import ceil

from contactpoint.synthetic.ids import NhsNumbers, Ulns
from contactpoint.synthetic.mess import MessRates
from contactpoint.synthetic.places import LocalPlaces, PlaceBuilder
from contactpoint.synthetic.pools import NamePools, build_pools
from contactpoint.synthetic.postcodes import AddressMaker

CHUNK_CHILDREN = 50_000
MAX_CHUNKS = 64  # every LA needs a school of each phase per chunk; more chunks would make schools tiny


def chunk_plan(children: int, chunk_children: int = CHUNK_CHILDREN) -> list[range]:
    """The child numbers of each chunk, in order."""
    chunks = max(1, min(MAX_CHUNKS, ceil(children / chunk_children)))
    size = ceil(children / chunks)
    return [range(start, min(start + size, children)) for start in range(0, children, size)]


@dataclass(frozen=True)
class World:
    seed: int
    las: tuple[str, ...]
    today: date
    rates: MessRates
    chunks: int
    pools: NamePools
    places: dict[str, LocalPlaces]
    # Schools used only by the children of bad rows (chunk number ``chunks``), so that nothing they are issued
    # clashes with a real child's.
    bad_row_places: dict[str, LocalPlaces]
    addresses: dict[str, AddressMaker]
    nhs: NhsNumbers = field(repr=False)
    ulns: Ulns = field(repr=False)

    def places_of(self, chunk: int, la: str) -> LocalPlaces:
        if chunk == self.chunks:
            return self.bad_row_places[la]
        return self.places[la].share(chunk, self.chunks)


@cache
def build_world(seed: int, las: tuple[str, ...], children: int, today: date, rates: MessRates,
                chunks: int) -> World:
    """The shared part of a run. Cached, so a worker process running several chunks builds it once."""
    pools = build_pools(seed)
    ids = random.Random(f"{seed}:ids")
    builder = PlaceBuilder(pools, random.Random(f"{seed}:places"))
    per_la = max(1, children // len(las))
    places = {la: builder.build(la, per_la, at_least=chunks) for la in las}
    bad_row_places = {la: builder.build_for_bad_rows(la) for la in las}
    addresses = {la: AddressMaker(la, pools.streets) for la in las}
    return World(seed, las, today, rates, chunks, pools, places, bad_row_places, addresses,
                 NhsNumbers(ids), Ulns(ids))

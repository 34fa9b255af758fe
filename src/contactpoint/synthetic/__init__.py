"""Synthetic England: realistic, messy feed files for testing, demos and benchmarks (docs/synthetic-data.md).

    generator   generate(): chunks, worker processes, part files joined in order, bad rows
    world       what every chunk shares (pools, places, identifier generators) and the chunk plan
    population  households, carers and children: the truth
    sources     the four source systems and the rows each holds
    views       how one source sees a child: the truth with its share of the mess
    mess        MessRates and the transformations (typos, nicknames, swapped dates...)
    badrows     deliberately invalid rows
    ids, postcodes, places, pools, dates, rand, writer: the parts

Kept free of imports so that loading the Django app costs nothing.
"""

__all__ = ["badrows", "dates", "demo", "generator", "ids", "mess", "places", "pools", "population", "postcodes",
           "rand", "sources", "views", "world", "writer"]

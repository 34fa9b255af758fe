"""Pools of names and street names, built once per run and then sampled with the run's own RNG.

Faker ``en_GB`` gives adult given names (parents, carers, practitioners) and family names with realistic
frequencies, but calling it per row is far too slow for millions of children, and its given names are a
generation too old for children. So: draw a few thousand values from a Faker seeded with the run's seed, add
names popular for children born in England since 2008 (ONS baby-name tables) and names common in England that
Faker's list lacks, and sample from the resulting tuples. A name repeated in a pool is drawn more often, which
keeps common names common (collisions between different children are part of what matching must handle).
"""

from __future__ import annotations

from dataclasses import dataclass

from faker import Faker

# Popular first names for babies in England and Wales, roughly ranked (ONS, 2008-2024), with the names
# whose diminutives schools use (Oliver/Ollie, Isabella/Izzy...) well represented.
POPULAR_BOYS: tuple[str, ...] = (
    "Muhammad", "Noah", "Oliver", "George", "Arthur", "Leo", "Harry", "Oscar", "Archie", "Henry", "Theodore",
    "Freddie", "Jack", "Charlie", "Theo", "Alfie", "Jacob", "Thomas", "Finley", "Arlo", "William", "Lucas",
    "Roman", "Tommy", "Isaac", "Teddy", "Alexander", "Luca", "Edward", "James", "Joshua", "Albie", "Elijah",
    "Max", "Mohammed", "Reggie", "Harrison", "Sebastian", "Ronnie", "Logan", "Tobias", "Hunter", "Jude",
    "Louie", "Daniel", "Samuel", "Benjamin", "Ethan", "Joseph", "Dylan", "Matthew", "Ryan", "Adam", "Jayden",
    "Riley", "Lewis", "Nathan", "Kai", "Mason", "Ibrahim", "Yusuf", "Omar", "Ayaan", "Zayn", "Hamza", "Aarav",
    "Stanley", "Frederick", "Christopher", "Michael", "Nicholas", "Robert", "Andrew", "Anthony", "Jamie",
)
POPULAR_GIRLS: tuple[str, ...] = (
    "Olivia", "Amelia", "Isla", "Ava", "Ivy", "Freya", "Lily", "Florence", "Mia", "Willow", "Rosie", "Sophia",
    "Isabella", "Grace", "Daisy", "Sienna", "Poppy", "Elsie", "Emily", "Ella", "Evelyn", "Phoebe", "Sofia",
    "Evie", "Charlotte", "Harper", "Millie", "Matilda", "Maya", "Sophie", "Alice", "Emilia", "Isabelle",
    "Ruby", "Luna", "Maisie", "Aria", "Penelope", "Mila", "Bonnie", "Eva", "Hallie", "Eliza", "Ada", "Violet",
    "Esme", "Arabella", "Imogen", "Jessica", "Delilah", "Elizabeth", "Chloe", "Lucy", "Holly", "Megan",
    "Hannah", "Abigail", "Katie", "Lola", "Scarlett", "Eleanor", "Georgia", "Rebecca", "Victoria", "Samantha",
    "Aisha", "Fatima", "Maryam", "Zainab", "Amira", "Hafsa", "Inaya", "Anaya", "Priya", "Nadia", "Zara",
)
# Accented given names: their accents are often lost by systems that cannot store them (a kind of mess).
ACCENTED_BOYS: tuple[str, ...] = ("Joël", "José", "André", "Raphaël", "Loïc", "Jérémie", "Noël", "Zoltán")
ACCENTED_GIRLS: tuple[str, ...] = ("Zoë", "Chloë", "Léa", "Inès", "Anaïs", "Renée", "Noémie", "Éloïse", "Zoé")
ACCENTED_FAMILY: tuple[str, ...] = (
    "Müller", "Sánchez", "García", "Gonçalves", "Núñez", "Lefèvre", "Özdemir", "Dvořák", "Nowakowská", "Čech",
)
# Family names common in England that Faker's en_GB list lacks (Camden, Tower Hamlets, Leicester...).
EXTRA_FAMILY: tuple[str, ...] = (
    "Khan", "Ahmed", "Ali", "Hussain", "Begum", "Rahman", "Islam", "Uddin", "Miah", "Patel", "Singh", "Kaur",
    "Shah", "Sharma", "Iqbal", "Akhtar", "Nowak", "Kowalski", "Okafor", "Mensah", "Adeyemi", "Osei", "Nguyen",
    "Chen", "Wang", "Da Silva", "Mohamed", "Abdi", "Yilmaz", "O'Brien", "O'Connor", "McDonald", "Kelly",
)
STREET_SUFFIXES: tuple[str, ...] = (
    "Road", "Road", "Road", "Street", "Street", "Avenue", "Close", "Gardens", "Lane", "Crescent", "Grove",
    "Place", "Terrace", "Way", "Court", "Drive", "Mews", "Square", "Rise", "Walk", "Row", "Hill", "Park",
)
SAINTS: tuple[str, ...] = (
    "Mary", "Michael", "Peter", "Paul", "John", "Luke", "Mark", "Anne", "Joseph", "George", "Patrick",
    "Dominic", "Aidan", "Margaret", "Stephen", "Alban", "Matthew", "Andrew", "Bede", "Clement", "Hilda",
    "Francis",
)

# How many values to draw from Faker for each pool: enough variety for millions of rows, quick to build.
_FAKER_DRAWS = 3000


@dataclass(frozen=True)
class NamePools:
    boys: tuple[str, ...]
    girls: tuple[str, ...]
    men: tuple[str, ...]
    women: tuple[str, ...]
    family: tuple[str, ...]
    streets: tuple[str, ...]

    def children(self, gender: str) -> tuple[str, ...]:
        return self.boys if gender == "male" else self.girls


def _weighted_by_rank(names: tuple[str, ...], top_weight: int) -> list[str]:
    """Repeat names so that earlier (more popular) ones are drawn more often: weight falls from
    ``top_weight`` for the first name to 1 for the last."""
    n = len(names)
    return [name for rank, name in enumerate(names) for _ in range(max(1, top_weight * (n - rank) // n))]


def build_pools(seed: int) -> NamePools:
    """The pools for one run. Depends only on ``seed`` (and the installed Faker), never on the process."""
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    adult_men = [fake.first_name_male() for _ in range(_FAKER_DRAWS)]
    adult_women = [fake.first_name_female() for _ in range(_FAKER_DRAWS)]
    family = [fake.last_name() for _ in range(_FAKER_DRAWS)]
    # Faker's own street names are American ("Smith Dam", "Patel Junctions"): take only its names and add
    # British street suffixes. A street named after a surname or a first name is typical in England.
    stems = [fake.last_name() if i % 3 else fake.first_name() for i in range(_FAKER_DRAWS // 3)]
    streets = sorted({f"{stem} {STREET_SUFFIXES[i % len(STREET_SUFFIXES)]}" for i, stem in enumerate(stems)})
    # Children: about three in five from the popular lists, the rest from Faker's wider (older) list.
    boys = _weighted_by_rank(POPULAR_BOYS, 16) + adult_men[: _FAKER_DRAWS // 6]
    girls = _weighted_by_rank(POPULAR_GIRLS, 16) + adult_women[: _FAKER_DRAWS // 6]
    family += [name for name in EXTRA_FAMILY for _ in range(12)]
    return NamePools(
        boys=tuple(boys), girls=tuple(girls), men=tuple(adult_men), women=tuple(adult_women),
        family=tuple(family), streets=tuple(streets),
    )

"""The raw Splink baseline, configured as a competent Splink user would, with the match model's own rules.

Used by ``bench_pipeline.py`` (generated feeds) and ``bench_febrl.py`` (FEBRL4). It is plain Splink on DuckDB
over every record sent, with none of the pipeline's validation, vault, candidate lookup or constrained
clustering:

- **inputs**: each CSV row made into the match model's input columns by the model's own profiling
  (``contactpoint.matching.profile.profile``: normalised names, Metaphone codes, nickname roots, name parts,
  the day/month-swapped date, postcode sector and district, a house key, carers), from the raw values as sent:
  names as written, a date of birth that is no real date left empty, postcodes upper-cased with the space put
  back, identifiers with spaces removed and otherwise unchecked (no row is refused);
- **comparisons and blocking rules**: the model's (``contactpoint.matching.model.comparisons`` and
  ``blocking_rules``): exact identifiers, and the date of birth (or its day/month swap) with a name sound or the
  postcode, or both name sounds with the birth year. Every block is bounded (a name sound within one day of
  birth, or within one birth year), so the number of comparisons grows linearly with the records; it is counted
  with Splink's own ``count_comparisons_from_blocking_rules`` and printed;
- **training** as Splink's documentation recommends: the probability that two random records match from
  deterministic rules (identifiers, and exact given name, family name and date of birth) with an assumed
  recall of 0.8; u by random sampling (10^7 pairs, seeded); m by expectation maximisation on blocks (the
  blocks given by the caller);
- **predict** above p = 0.5, then Splink's connected-components clustering at p >= 0.9 (the usual choice;
  other thresholds are reported beside it, from the same predictions).
"""

from __future__ import annotations

import csv
import logging
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

THRESHOLD = 0.9
SWEEP = (0.5, 0.8, 0.9, 0.95, 0.99)
LAMBDA_RECALL = 0.8
U_PAIRS = 1e7

_SPACES = re.compile(r"[\s\-]+")
_GENDERS = {"m": "male", "male": "male", "f": "female", "female": "female"}


def _postcode(raw: str) -> str | None:
    compact = _SPACES.sub("", raw).upper()
    if not compact:
        return None
    return f"{compact[:-3]} {compact[-3:]}" if 5 <= len(compact) <= 7 else compact


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


def _names(raw: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in raw.split(";") if n.strip())


def as_matchable(row: dict[str, str]) -> Any:
    """A raw CSV row (feed columns) as what ``profile`` reads, with no validation: nothing is refused."""
    from contactpoint.children.record import Address, Carer, PersonName

    def get(column: str) -> str:
        return (row.get(column) or "").strip()

    gender = _GENDERS.get(get("gender").lower()) or (get("gender").lower() or None)
    line_1, postcode = get("address_line_1"), _postcode(get("postcode"))
    address = Address(line_1, get("address_line_2"), get("town"), postcode or "") if line_1 or postcode else None
    carers = tuple(Carer(name=get(f"carer_{n}_name")) for n in (1, 2) if get(f"carer_{n}_name"))
    return SimpleNamespace(
        name=PersonName(get("given_name"), get("family_name"), get("middle_names")),
        former_family_names=_names(get("former_family_names")), gender=gender,
        date_of_birth=_date(get("date_of_birth")),
        nhs_number=_SPACES.sub("", get("nhs_number")) or None, upn=_SPACES.sub("", get("upn")).upper() or None,
        uln=_SPACES.sub("", get("uln")) or None, address=address, carers=carers)


def csv_rows(files: Iterable[tuple[str, Path]]) -> Iterator[tuple[str, dict[str, str]]]:
    """(unique ID ``source|source_record_id``, row) for every row of every (source, file)."""
    for source, path in files:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            for row in csv.DictReader(fh):
                yield f"{source}|{row['source_record_id']}", row


def profiles_table(rows: Iterable[tuple[str, dict[str, str]]]):
    """The match model's input columns for every row, as one Arrow table (the schema the pipeline uses)."""
    import pyarrow as pa

    from contactpoint.matching.profile import COLUMNS, SCHEMA, profile

    columns: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    for uid, row in rows:
        found = profile(uid, "raw", as_matchable(row))
        for c in COLUMNS:
            columns[c].append(found[c])
    return pa.Table.from_arrays([pa.array(columns[c], type=SCHEMA.field(c).type) for c in COLUMNS], schema=SCHEMA)


def _rule_text(rule: Any) -> str:
    if isinstance(rule, str):
        return rule
    sql = rule.get_blocking_rule("duckdb").blocking_rule_sql
    return sql.replace('"', "")


def count_comparisons(df: Any, rules: Sequence[Any], sample: float = 1.0) -> list[dict[str, Any]]:
    """Splink's own count of the comparisons each rule adds (exact with ``sample`` 1.0)."""
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    records = count_comparisons_from_blocking_rules(df, blocking_rules=list(rules), link_type="dedupe_only",
                                                    record_sample_proportion=sample)
    return [{"rule": _rule_text(r), "marginal": int(rec["marginal_comparison_count"]),
             "cumulative": int(rec["cumulative_comparison_count"])} for r, rec in zip(rules, records, strict=True)]


def true_pairs(truth: dict[tuple[str, str], str]) -> list[tuple[str, str]]:
    """Every pair of unique IDs (``source|source_record_id``) that truth says is one person."""
    people: dict[str, list[str]] = {}
    for (source, rid), person in truth.items():
        people.setdefault(person, []).append(f"{source}|{rid}")
    return [(a, b) for ids in people.values() for i, a in enumerate(ids) for b in ids[i + 1:]]


def blocked_true_pairs(con: Any, pairs: Sequence[tuple[str, str]], rules: Sequence[Any]) -> dict[str, Any]:
    """How many of the true pairs each rule would put in one block, and how many any of them would: the most
    recall any scoring can reach with these rules."""
    import pyarrow as pa

    con.register("true_pairs_arrow", pa.table({"a": [a for a, _ in pairs], "b": [b for _, b in pairs]}))
    con.execute("""CREATE OR REPLACE TEMP TABLE true_pair_rows AS SELECT l.*, r.* FROM true_pairs_arrow t
                   JOIN records l ON l.unique_id = t.a JOIN records r ON r.unique_id = t.b""")
    texts = [_rule_text(rule) for rule in rules]
    columns = [c[0] for c in con.execute("DESCRIBE records").fetchall()]
    rename = ", ".join([f"l_{c}" for c in columns] + [f"r_{c}" for c in columns])
    found = []
    for text in texts:
        sql = re.sub(r"\b([lr])\.", r"\1_", text)
        found.append(f"coalesce(({sql}), false)")
    row = con.execute(f"""SELECT count(*), {', '.join(f'count(*) FILTER (WHERE {f})' for f in found)},
                          count(*) FILTER (WHERE {' OR '.join(found)})
                          FROM (SELECT * FROM true_pair_rows) AS t({rename})""").fetchall()[0]
    return {"true_pairs": len(pairs), "both_present": row[0], "any": row[-1],
            "by_rule": [{"rule": t, "pairs": n} for t, n in zip(texts, row[1:-1], strict=True)]}


def link(table: Any, *, em_rules: Sequence[Any], deterministic_rules: Sequence[Any],
         old_rules: Sequence[Any] = (), truth_pairs: Sequence[tuple[str, str]] = (),
         probe_rules: Sequence[Any] = ()) -> dict[str, Any]:
    """Train, predict and cluster ``table`` (profiles) with the match model's comparisons and blocking rules.

    Returns the clusters at every threshold of ``SWEEP`` (unique_id -> cluster ID), Splink's comparison counts
    for the model's rules (and, estimated from a 10 % sample, for ``old_rules``), how many of ``truth_pairs``
    the model's rules (and, one by one, ``probe_rules``) put in a block, and the time of each step."""
    import duckdb
    from splink import DuckDBAPI, Linker

    from contactpoint.matching.model import blocking_rules, settings_creator

    timings: dict[str, float] = {}
    con = duckdb.connect(":memory:")
    con.execute("SET threads TO 2")
    db_api = DuckDBAPI(con)
    df = db_api.register(table, table_name="records")

    t = time.perf_counter()
    counts = count_comparisons(df, blocking_rules())
    old_counts = count_comparisons(df, old_rules, sample=0.1) if old_rules else []
    coverage = blocked_true_pairs(con, truth_pairs, blocking_rules()) if truth_pairs else None
    probes = []
    for rule in probe_rules:
        probe = blocked_true_pairs(con, truth_pairs, [*blocking_rules(), rule])
        probes.append({"rule": _rule_text(rule), "any": probe["any"],
                       "comparisons": count_comparisons(df, [rule])[0]["cumulative"]})
    timings["count_s"] = time.perf_counter() - t

    started = time.perf_counter()
    linker = Linker(df, settings_creator(), log_level=logging.WARNING)
    training = linker.training
    training.estimate_probability_two_random_records_match(list(deterministic_rules), recall=LAMBDA_RECALL)
    training.estimate_u_using_random_sampling(max_pairs=U_PAIRS, seed=1)
    for rule in em_rules:
        training.estimate_parameters_using_expectation_maximisation(rule)
    settings = linker.misc.save_model_to_json(None)
    filled = _fill_untrained_identifiers(settings)
    if filled:
        linker = Linker(df, settings, log_level=logging.WARNING)
    timings["train_s"] = time.perf_counter() - started
    t = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=min(SWEEP))
    scored = con.sql(f"SELECT count(*) FROM {predictions.physical_name}").fetchall()[0][0]
    timings["predict_s"] = time.perf_counter() - t
    t = time.perf_counter()
    clusters: dict[float, list[tuple[str, str]]] = {}
    for threshold in SWEEP:
        clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold)
        clusters[threshold] = [(uid, str(cid)) for uid, cid in
                               clustered.as_duckdbpyrelation().select("unique_id, cluster_id").fetchall()]
        if threshold == THRESHOLD:
            timings["cluster_s"] = time.perf_counter() - t
    con.close()
    timings["link_s"] = timings["train_s"] + timings["predict_s"] + timings["cluster_s"]
    return {"clusters": clusters, "counts": counts, "old_counts": old_counts, "pairs_over_half": scored,
            "timings": timings, "filled": filled, "coverage": coverage, "probes": probes,
            "lambda": settings["probability_two_random_records_match"]}


# What an identifier shared by two records says when the data cannot show it (no two records in the random
# sample share a ULN, say): the same priors the match model uses (``contactpoint.matching.train``).
IDENTIFIER_PRIORS = {"exact": (0.95, 1e-7), "else": (0.05, 1.0 - 1e-7)}


def _fill_untrained_identifiers(settings: dict[str, Any]) -> list[str]:
    filled = []
    for comparison in settings["comparisons"]:
        name = comparison["output_column_name"]
        if name not in ("nhs_number", "upn", "uln"):
            continue
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            kind = "exact" if "Exact" in level.get("label_for_charts", "") else "else"
            for i, key in enumerate(("m_probability", "u_probability")):
                if not level.get(key):
                    level[key] = IDENTIFIER_PRIORS[kind][i]
                    filled.append(f"{name} {kind} {key[0]}")
    return filled

"""Running the match model with Splink: DuckDB in process by default, Spark for national batches.

``score`` takes profiles (new records and the records of candidate children) and returns the scored pairs
that involve at least one new record, with the comparison level of each comparison as evidence. The DuckDB
database is in memory and dropped after each call: profiles never reach a disk.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from splink import DuckDBAPI, Linker

from contactpoint.config import get_settings
from contactpoint.errors import MatchingError
from contactpoint.matching.cluster import Edge
from contactpoint.matching.frequencies import Frequencies, without_adjustments
from contactpoint.matching.model import thresholds, trained_settings
from contactpoint.matching.profile import COLUMNS, LIST_COLUMNS, arrow_table

logging.getLogger("splink").setLevel(logging.WARNING)
T = TypeVar("T")

# A load's records scored in chunks (Splink's ``num_chunks_left``/``_right``): the pairs a blocking rule makes are
# held one chunk pair at a time, not all at once. At a million records the one pass took the load's peak to 3.0 GiB
# (docs/benchmarks.md); a national load is 30 to 40 million. Up to ``PREDICT_CHUNK_RECORDS`` the scoring is one
# pass. The right-hand chunks are larger: each pass blocks its left chunk against one right chunk, so k by k
# chunks repeat the blocking k times over. The 3 million records of the benchmark, scored alone without Splink's
# intermediate columns: one pass 22.5 s and +3.4 GiB; 2 by 1 chunks 28.9 s, +2.1 GiB; 3 by 1 32.5 s, +1.7 GiB
# (3 by 3 took 62 s). The memory is the data the chunks share more than the pairs.
PREDICT_CHUNK_RECORDS = 2_000_000
PREDICT_RIGHT_CHUNK_RECORDS = 4_000_000



def level_labels(settings: dict[str, Any]) -> dict[str, dict[int, str]]:
    """gamma value -> level label, per comparison (Splink numbers non-null levels from the bottom, else = 0)."""
    out: dict[str, dict[int, str]] = {}
    for comparison in settings["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        out[comparison["output_column_name"]] = {
            len(levels) - 1 - i: (lv.get("label_for_charts") or "other") for i, lv in enumerate(levels)}
    return out


def _levels(settings: dict[str, Any]) -> dict[str, list[tuple[float, str]]]:
    """(match weight, level label) of each non-null level, per comparison. Splink's predictions carry each
    comparison's match weight (``mw_<name>``); the level is the one with that weight."""
    out: dict[str, list[tuple[float, str]]] = {}
    for comparison in settings["comparisons"]:
        levels = []
        for lv in comparison["comparison_levels"]:
            m, u = lv.get("m_probability"), lv.get("u_probability")
            if lv.get("is_null_level") or not m or not u:
                continue
            levels.append((math.log2(m / u), lv.get("label_for_charts") or "other"))
        out[comparison["output_column_name"]] = levels
    return out


def _u_exact(settings: dict[str, Any]) -> dict[str, float]:
    """The trained u probability of each level adjusted for term frequency, by the column it adjusts for."""
    return {lv["tf_adjustment_column"]: lv["u_probability"] for c in settings["comparisons"]
            for lv in c["comparison_levels"] if lv.get("tf_adjustment_column") and lv.get("u_probability")}


def _level_of(levels: list[tuple[float, str]], weight: float | None) -> str | None:
    if weight is None:
        return None
    found = [label for w, label in levels if abs(w - weight) < 1e-6]
    return found[0] if found else None  # a null level (weight 0 by construction) is no evidence either way


def _evidence(levels: dict[str, list[tuple[float, str]]], row: Mapping[str, Any]) -> dict[str, str]:
    """A scored pair's comparison levels by name, from its ``mw_<name>`` columns (null levels left out)."""
    return {name: label for name in levels if (label := _level_of(levels[name], row.get(f"mw_{name}"))) is not None}


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for Splink. Nothing of the profiles may reach a disk: an in-memory DuckDB that runs
    short of memory offloads to a temporary directory (``.tmp`` in the working directory by default), in clear.
    It is given none, so a job too big for memory fails instead (a million records need about 1.5 GiB)."""
    con = duckdb.connect(":memory:")
    con.execute("SET threads TO 2")
    con.execute("SET temp_directory = ''")
    return con


class Backend:
    name = "duckdb"
    dialect = "duckdb"

    def predict(self, table: pa.Table, settings: dict[str, Any], threshold: float,
                frequencies: Mapping[str, pa.Table] | None = None) -> list[dict[str, Any]]:
        def rows(relation: duckdb.DuckDBPyRelation) -> list[dict[str, Any]]:
            return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]

        return self._predicted(table, settings, threshold, frequencies, rows)

    def predict_arrow(self, table: pa.Table, settings: dict[str, Any], threshold: float, columns: Sequence[str],
                      frequencies: Mapping[str, pa.Table] | None = None) -> pa.Table:
        """``predict`` for a whole load: only ``columns`` of the predictions, as one Arrow table (a million
        records give millions of pairs: as Python dicts of every column they would take gigabytes).

        Splink is given each record's row number as its ``unique_id`` and the identifiers are put back after: the
        blocked pairs DuckDB holds while it scores are pairs of identifiers, and as integers rather than strings
        they took the load's peak from 4.4 to 3.0 GiB at a million records."""
        uids = table.column("unique_id")
        numbered = table.set_column(table.schema.get_field_index("unique_id"), "unique_id",
                                    pa.array(range(len(table)), type=pa.int64()))
        predicted = self._predicted(numbered, settings, threshold, frequencies,
                                    lambda relation: relation.select(*columns).to_arrow_table(),
                                    chunks=(math.ceil(len(table) / PREDICT_CHUNK_RECORDS),
                                            math.ceil(len(table) / PREDICT_RIGHT_CHUNK_RECORDS)))
        for side in ("unique_id_l", "unique_id_r"):
            if side in predicted.column_names:
                predicted = predicted.set_column(predicted.schema.get_field_index(side), side,
                                                 pc.take(uids, predicted.column(side)))
        return predicted

    @staticmethod
    def _predicted(table: pa.Table, settings: dict[str, Any], threshold: float,
                   frequencies: Mapping[str, pa.Table] | None, take: Callable[[duckdb.DuckDBPyRelation], T], *,
                   chunks: tuple[int, int] = (1, 1)) -> T:
        """Splink's predictions over ``table`` in an in-memory DuckDB, as ``take`` reads them before it closes;
        ``chunks``: how many pieces (left, right) the records are scored in, a pair of pieces at a time
        (``PREDICT_CHUNK_RECORDS``, ``PREDICT_RIGHT_CHUNK_RECORDS``)."""
        con = connect()
        try:
            db_api = DuckDBAPI(con)
            linker = Linker(db_api.register(table, table_name="profiles"), settings, log_level=logging.WARNING)
            for column, lookup in (frequencies or {}).items():
                linker.table_management.register_term_frequency_lookup(
                    db_api.register(lookup, table_name=f"tf_lookup_{column}"), column)
            left, right = (n if n > 1 else None for n in chunks)
            return take(linker.inference.predict(threshold_match_probability=threshold, num_chunks_left=left,
                                                 num_chunks_right=right).as_duckdbpyrelation())
        finally:
            con.close()


class SparkBackend(Backend):
    """Splink on Spark: ``CONTACTPOINT_SPARK_MASTER`` names the cluster (default ``local[2]``, as in tests)."""

    name = "spark"
    dialect = "spark"
    _session = None

    @classmethod
    def session(cls):
        if cls._session is None:
            # pyspark is an optional dependency (the [spark] extra): imported only when Spark is asked for.
            try:
                from pyspark.sql import SparkSession  # noqa: PLC0415
            except ImportError:
                raise MatchingError("the Spark backend needs 'pip install contactpoint[spark]' and Java") from None
            from splink.backends.spark import similarity_jar_location  # noqa: PLC0415

            # Spark's Python workers must be the driver's interpreter (the venv), not the first python3 on PATH.
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
            if get_settings().spark_master.startswith("local"):
                os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            # Splink's string similarity functions (Jaro-Winkler...) are Java UDFs shipped in its wheel.
            cls._session = (SparkSession.builder.master(get_settings().spark_master).appName("contactpoint-matching")
                            .config("spark.jars", similarity_jar_location())
                            .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
                            # Shuffle and spill files hold profiles (names, dates of birth, postcodes): kept in
                            # memory (tmpfs). Spark's own I/O encryption (spark.io.encryption.enabled) needs
                            # protobuf-java, which pyspark's wheel does not ship: with it on, the JVM died.
                            .config("spark.local.dir", _memory_dir())
                            .config("spark.driver.memory", "2g").getOrCreate())
            cls._session.sparkContext.setLogLevel("ERROR")
        return cls._session

    def predict(self, table: pa.Table, settings: dict[str, Any], threshold: float,
                frequencies: Mapping[str, pa.Table] | None = None) -> list[dict[str, Any]]:
        from splink import SparkAPI  # noqa: PLC0415  (needs pyspark, the optional [spark] extra)

        spark = self.session()
        frame = spark.createDataFrame(table.to_pylist(), schema=_spark_schema())
        # "persist" keeps intermediate tables in executor memory: checkpoints would write profiles to disk in clear.
        db_api = SparkAPI(spark_session=spark, break_lineage_method="persist")
        df = db_api.register(frame)
        linker = Linker(df, settings, log_level=logging.WARNING)
        for column, lookup in (frequencies or {}).items():
            linker.table_management.register_term_frequency_lookup(
                db_api.register(spark.createDataFrame(lookup.to_pylist(), schema=_tf_schema(column))), column)
        rows = linker.inference.predict(threshold_match_probability=threshold).as_spark_dataframe().collect()
        return [r.asDict() for r in rows]

    def predict_arrow(self, table: pa.Table, settings: dict[str, Any], threshold: float, columns: Sequence[str],
                      frequencies: Mapping[str, pa.Table] | None = None) -> pa.Table:
        from splink import SparkAPI  # noqa: PLC0415  (needs pyspark, the optional [spark] extra)

        spark = self.session()
        uid_type = table.schema.field("unique_id").type  # a load numbers its records: the schema says strings
        table = table.set_column(table.schema.get_field_index("unique_id"), "unique_id",
                                 pc.cast(table.column("unique_id"), pa.string()))
        # Rows, not pandas: Spark's Arrow path needs jars Splink's wheel does not bring, and killed the JVM.
        frame = spark.createDataFrame(table.to_pylist(), schema=_spark_schema())
        db_api = SparkAPI(spark_session=spark, break_lineage_method="persist")
        linker = Linker(db_api.register(frame), settings, log_level=logging.WARNING)
        for column, lookup in (frequencies or {}).items():
            linker.table_management.register_term_frequency_lookup(
                db_api.register(spark.createDataFrame(lookup.to_pylist(), schema=_tf_schema(column))), column)
        predictions = linker.inference.predict(threshold_match_probability=threshold).as_spark_dataframe()
        rows = predictions.select(*columns).collect()
        schema = pa.schema([(c, pa.string() if c.startswith("unique_id") else pa.float64()) for c in columns])
        predicted = pa.Table.from_pylist([r.asDict() for r in rows], schema=schema)
        return predicted.cast(pa.schema([(c, uid_type if c.startswith("unique_id") else pa.float64())
                                         for c in columns]))


def _memory_dir() -> str:
    """Where Spark on this machine writes shuffle and spill files: a memory-backed directory (``/dev/shm``), so
    nothing personal reaches a disk. ``SPARK_LOCAL_DIRS`` (a cluster's executors') overrides it, and must be
    tmpfs or an encrypted volume too (docs/operations.md)."""
    return "/dev/shm" if os.path.isdir("/dev/shm") else "/tmp"  # noqa: S108 - without /dev/shm, Spark's default


def _spark_schema():
    from pyspark.sql import types as T  # noqa: PLC0415  (pyspark: the optional [spark] extra)

    fields = []
    for c in COLUMNS:
        kind = (T.ArrayType(T.StringType()) if c in LIST_COLUMNS else T.LongType() if c == "birth_year"
                else T.StringType())
        fields.append(T.StructField(c, kind, True))
    return T.StructType(fields)


def _tf_schema(column: str):
    from pyspark.sql import types as T  # noqa: PLC0415  (pyspark: the optional [spark] extra)

    return T.StructType([T.StructField(column, T.StringType(), False),
                         T.StructField(f"tf_{column}", T.DoubleType(), False)])


def backend(name: str | None = None) -> Backend:
    name = name or get_settings().match_backend
    return SparkBackend() if name == "spark" else Backend()


class Scored:
    """Every pair a whole load scored (``score_all``): the pairs as ``Edge``s without their evidence. The evidence
    (each comparison's level) is wanted only for the few pairs that become review items, and is found by scoring
    their records again (``evidence``): kept for every pair, Splink's intermediate columns took 0.6 GiB more and
    8 % more time at 3 million records."""

    def __init__(self, predicted: pa.Table, profiles: pa.Table, *, engine: Backend, settings: dict[str, Any],
                 lookups: Mapping[str, pa.Table] | None) -> None:
        self._profiles, self._engine, self._settings, self._lookups = profiles, engine, settings, lookups
        left, right = predicted.column("unique_id_l").to_pylist(), predicted.column("unique_id_r").to_pylist()
        probability = predicted.column("match_probability").to_pylist()
        none: dict[str, str] = {}
        self.edges = [Edge(a, b, float(p), none) for a, b, p in zip(left, right, probability, strict=True)]

    def evidence(self, pairs: Iterable[tuple[Any, Any]]) -> dict[tuple[Any, Any], dict[str, str]]:
        """The comparison levels of the pairs asked for (either way round), from their records scored again with
        the same model: a pair's levels depend on its two records only."""
        wanted = {frozenset(p) for p in pairs}
        if not wanted:
            return {}
        uids = self._profiles.column("unique_id")
        records = self._profiles.filter(pc.is_in(uids, value_set=pa.array(sorted({u for p in wanted for u in p}),
                                                                          type=uids.type)))
        settings = {**self._settings, "retain_intermediate_calculation_columns": True}
        levels = _levels(settings)
        columns = ["unique_id_l", "unique_id_r", *(f"mw_{name}" for name in levels)]
        rows = self._engine.predict_arrow(records, settings, 0.0, columns, self._lookups).to_pylist()
        return {(row["unique_id_l"], row["unique_id_r"]): _evidence(levels, row)
                for row in rows if frozenset((row["unique_id_l"], row["unique_id_r"])) in wanted}


def score_all(table: pa.Table, *, engine: Backend | None = None, frequencies: Frequencies | None = None) -> Scored:
    """Every pair among all the profiles of a load (``table``, in ``SCHEMA``) above the review threshold: one
    Splink link-and-dedupe over everything, on DuckDB in this process or on Spark. The result holds ``table``
    until it is dropped (``Scored.evidence`` reads the records of the pairs asked for)."""
    engine = engine or backend()
    settings = dict(trained_settings(dialect=engine.dialect))
    settings["retain_intermediate_calculation_columns"] = False
    lookups = frequencies.lookups(table, _u_exact(settings)) if frequencies is not None else None
    if lookups is None:
        settings = without_adjustments(settings)
    columns = ["unique_id_l", "unique_id_r", "match_probability"]
    return Scored(engine.predict_arrow(table, settings, thresholds()[1], columns, lookups), table, engine=engine,
                  settings=settings, lookups=lookups)


def score(profiles: Sequence[Mapping[str, Any] | tuple], new: Iterable[str], *, engine: Backend | None = None,
          threshold: float | None = None, settings: dict[str, Any] | None = None,
          frequencies: Frequencies | None = None) -> list[Edge]:
    """Scored pairs among ``profiles`` (dicts, or rows in ``COLUMNS`` order) with at least one record in ``new``,
    above ``threshold`` (default: the model's review threshold). ``settings``: a model other than the saved one
    (training tries the model it is about to save). ``frequencies``: the national term frequencies
    (``matching.frequencies``); without them, exact matches are not adjusted for how common the value is."""
    if threshold is None:
        threshold = thresholds()[1]
    new = set(new)
    if len(profiles) < 2 or not new:
        return []
    engine = engine or backend()
    settings = dict(settings if settings is not None else trained_settings(dialect=engine.dialect))
    # Per-comparison match weights: the evidence a data manager sees in the review queue.
    settings["retain_intermediate_calculation_columns"] = True
    levels = _levels(settings)
    table = arrow_table(profiles)
    lookups = frequencies.lookups(table, _u_exact(settings)) if frequencies is not None else None
    if lookups is None:
        settings = without_adjustments(settings)
    rows = engine.predict(table, settings, threshold, lookups)
    edges = []
    for row in rows:
        left, right = row["unique_id_l"], row["unique_id_r"]
        if left not in new and right not in new:
            continue  # two records already in the index: decided before
        edges.append(Edge(left, right, float(row["match_probability"]), _evidence(levels, row)))
    return edges

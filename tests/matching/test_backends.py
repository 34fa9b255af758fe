"""Splink on Spark (national batches) and on DuckDB (the default) must make the same decisions."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from pathlib import Path

import pytest

from contactpoint.feeds.models import LoadRun
from contactpoint.ingest.load import load
from contactpoint.ingest.profiles import profiles_of
from contactpoint.matching.cluster import decide
from contactpoint.matching.engine import Backend, SparkBackend, score
from contactpoint.matching.frequencies import Frequencies, count
from contactpoint.synthetic.generator import generate
from contactpoint.vault.keyring import get_keyring
from tests.canary import leaks_in
from tests.ingest.test_ingest_process import _canary_row
from tests.ingest.test_load import NOW, _empty_the_index, _files, _index

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def profiles(tmp_path_factory):
    folder = tmp_path_factory.mktemp("feeds")
    generate(150, 7, folder, ["202"], today=date(2026, 11, 24), workers=1)
    return profiles_of(folder, today=date(2026, 11, 24))


def _decisions(profiles, engine):
    by_id = {p["unique_id"]: p for p in profiles}
    # With the term-frequency adjustments, whose lookups each engine registers in its own way.
    edges = score(profiles, by_id, engine=engine, frequencies=Frequencies.of(count(profiles)))
    outcome = decide(list(by_id), {}, by_id, edges)
    groups: dict[object, set[str]] = {}
    for uid, group in outcome.group_of.items():
        groups.setdefault(group, set()).add(uid)
    clusters = {frozenset(members) for members in groups.values()}
    reviews = {tuple(sorted((r.record_a, r.record_b))) for r in outcome.reviews}
    return edges, clusters, reviews


def test_spark_backend_gives_the_same_links_as_duckdb(profiles):
    if shutil.which("java") is None:
        pytest.skip("the Spark backend needs Java (apt-get install default-jre-headless)")
    pytest.importorskip("pyspark", reason="pip install '.[spark]'")
    duck_edges, duck_clusters, duck_reviews = _decisions(profiles, Backend())
    spark_edges, spark_clusters, spark_reviews = _decisions(profiles, SparkBackend())

    assert len(duck_clusters) < len(profiles)  # there was something to link
    assert spark_clusters == duck_clusters
    assert spark_reviews == duck_reviews
    duck = {tuple(sorted((e.left, e.right))): e for e in duck_edges}
    spark = {tuple(sorted((e.left, e.right))): e for e in spark_edges}
    assert set(spark) == set(duck)
    for pair, edge in duck.items():
        assert spark[pair].probability == pytest.approx(edge.probability, abs=1e-6)
        assert spark[pair].evidence == edge.evidence


def _local_dirs(spark) -> list[str]:
    """The directories this Spark application writes its shuffle and spill files to (``blockmgr-*`` under its
    local directory)."""
    local = spark.sparkContext.getConf().get("spark.local.dir")
    return [str(p) for p in Path(local).glob("blockmgr-*")]


@pytest.mark.django_db
@pytest.mark.once  # Spark's work is the same whichever database the load writes to
def test_a_load_on_spark_gives_the_index_duckdb_gives_and_writes_nothing_in_clear(tmp_path):
    if shutil.which("java") is None:
        pytest.skip("the Spark backend needs Java (apt-get install default-jre-headless)")
    pytest.importorskip("pyspark", reason="pip install '.[spark]'")

    generate(120, 9, tmp_path, ["202"], today=date(2026, 11, 24), workers=1)
    gp = next(tmp_path.glob("gp-*.csv"))
    columns = gp.read_text().splitlines()[0].split(",")
    with gp.open("a", newline="", encoding="utf-8") as f:
        csv.DictWriter(f, columns).writerow(_canary_row(columns))
    files = _files(tmp_path)
    load(files, keyring=get_keyring(), now=NOW)
    on_duckdb = _index()
    _empty_the_index()
    LoadRun.objects.all().delete()

    load(files, keyring=get_keyring(), now=NOW, engine=SparkBackend())
    assert _index() == on_duckdb
    # The whole link-and-dedupe ran on Spark, shuffling the profiles (the canary's among them) through files of
    # its own: those are in memory (tmpfs), never on a disk.
    dirs = _local_dirs(SparkBackend.session())
    written = [p for d in dirs for p in Path(d).rglob("*") if p.is_file()]
    assert written, "Spark wrote no shuffle files: the test would prove nothing"
    assert all(_filesystem(d) == "tmpfs" for d in dirs)
    assert leaks_in(b"".join(p.read_bytes() for p in Path("/tmp").glob("blockmgr-*/**/*") if p.is_file())) == []


def _filesystem(path: str) -> str:
    """The type of the filesystem ``path`` is on (the longest mount point it is under)."""
    mounts = [line.split()[1:3] for line in Path("/proc/mounts").read_text().splitlines()]
    return max(((point, kind) for point, kind in mounts if path == point or path.startswith(point.rstrip("/") + "/")),
               key=lambda m: len(m[0]))[1]

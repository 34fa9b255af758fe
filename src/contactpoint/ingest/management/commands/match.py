from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from contactpoint.commands import ContactPointCommand
from contactpoint.ingest import frequencies
from contactpoint.ingest.profiles import profiles_of
from contactpoint.matching.cluster import decide
from contactpoint.matching.engine import score
from contactpoint.matching.evaluate import pairwise, read_truth
from contactpoint.matching.frequencies import FLOOR, Frequencies, count, store
from contactpoint.matching.model import model_path, uses_frequencies
from contactpoint.matching.review import labelled_training_data
from contactpoint.matching.train import MIN_LABELLED_PAIRS, save, train, with_or_without_frequencies
from contactpoint.vault.keyring import get_keyring


class Command(ContactPointCommand):
    help = ("The match model: 'match train' retrains it by EM (on --feeds DIR, or on freshly generated data) and "
            "saves it as versioned JSON; 'match evaluate --feeds DIR' measures it against DIR/truth.csv; "
            "'match frequencies' counts how common each name and postcode is, from the index or from --files.")

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        train = sub.add_parser("train")
        train.add_argument("--feeds", type=Path, help="a directory of feed files (default: generate some)")
        train.add_argument("--children", type=int, default=30000)
        train.add_argument("--seed", type=int, default=20081105)
        train.add_argument("--out", type=Path, default=None, help="where to save (default: the repository's model)")
        train.add_argument("--with-labels", action="store_true",
                           help="also learn from the pairs data managers linked in the review queue")
        evaluate = sub.add_parser("evaluate")
        evaluate.add_argument("--feeds", type=Path, required=True)
        counting = sub.add_parser("frequencies", help="count the national term frequencies (monthly; and before a "
                                                      "first load, from its files)")
        counting.add_argument("--files", type=Path, nargs="+",
                              help="feed files to count (a first load's, before it runs); default: the index")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "train":
            self._train(options)
        elif options["action"] == "frequencies":
            self._frequencies(options["files"])
        else:
            self._evaluate(options["feeds"])

    def _frequencies(self, files: list[Path] | None) -> None:
        keyring = get_keyring()
        if files:
            missing = [str(p) for p in files if not p.is_file()]
            if missing:
                raise CommandError(f"no such file: {', '.join(missing)}")
            counts = frequencies.from_files(files, today=timezone.localdate())
        else:
            counts = frequencies.from_index(keyring)
        kept = store(keyring, counts, now=timezone.now(), counted_from="files" if files else "index")
        totals = ", ".join(f"{column} {sum(c.values()):,} ({len(c):,} different)" for column, c in counts.items())
        self.stdout.write(f"counted {totals}; {kept:,} values shared by {FLOOR} or more kept")

    def _train(self, options: dict[str, Any]) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            feeds = options["feeds"]
            if feeds is None:
                feeds = Path(tmp)
                call_command("generate", "--children", str(options["children"]), "--seed", str(options["seed"]),
                             "--out", str(feeds), "--today", "2026-11-24", stdout=self.stdout)
                description = f"synthetic: {options['children']} children, seed {options['seed']}"
            else:
                description = f"feeds in {feeds.name}"
            profiles = profiles_of(feeds, today=timezone.localdate())
            if len(profiles) < 100:
                raise CommandError("training needs at least 100 records")
            labelled = None
            if options["with_labels"]:
                labelled = labelled_training_data(get_keyring())
                used = ("used" if len(labelled[1]) >= MIN_LABELLED_PAIRS
                        else f"not used (fewer than {MIN_LABELLED_PAIRS})")
                self.stdout.write(f"{len(labelled[1])} pairs linked by data managers: {used}")
            settings = train(profiles, description=description, labelled=labelled)
            truth_path = feeds / "truth.csv"
            if truth_path.exists():  # generated data knows who is who: choose the thresholds on it
                use, link, review, tried = with_or_without_frequencies(settings, profiles, read_truth(truth_path))
                for adjusted, candidates in tried.items():
                    for threshold, (quality, reviews) in candidates.items():
                        self.stdout.write(f"{'with' if adjusted else 'without'} term frequencies, link at "
                                          f"{threshold}: {quality}, {reviews} reviews")
                settings["contactpoint"] |= {"link_threshold": link, "review_threshold": review,
                                             "term_frequencies": use}
                self.stdout.write(f"link threshold {link}, review threshold {review}, term frequencies "
                                  f"{'on' if use else 'off'}")
            else:
                self.stdout.write("no truth.csv beside the feeds: the thresholds are the defaults")
        out = options["out"] or model_path()
        save(settings, out)
        self.stdout.write(f"trained on {len(profiles)} records ({description}); saved {out}")

    def _evaluate(self, feeds: Path) -> None:
        truth_path = feeds / "truth.csv"
        if not truth_path.exists():
            raise CommandError(f"{truth_path} is missing")
        profiles = profiles_of(feeds, today=timezone.localdate())
        by_id = {p["unique_id"]: p for p in profiles}
        edges = score(profiles, by_id, frequencies=Frequencies.of(count(profiles)) if uses_frequencies() else None)
        outcome = decide(list(by_id), {}, by_id, edges)
        clusters = [((source, record_id), group) for uid, group in outcome.group_of.items()
                    for source, record_id in [uid.split("|", 1)]]  # profiles_of's SOURCE|RECORD_ID
        self.stdout.write(str(pairwise(clusters, read_truth(truth_path))))
        self.stdout.write(f"{len(outcome.reviews)} pairs would go to the review queue")

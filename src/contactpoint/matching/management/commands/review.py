"""``contactpoint review``: the review queue from the command line, for a named data manager (``--as``).

    contactpoint review list  --as USERNAME [--show pending|open|deferred|decided] [--why TEXT]
    contactpoint review show  ID --as USERNAME
    contactpoint review link  ID --as USERNAME [--note TEXT]
    contactpoint review apart ID --as USERNAME [--note TEXT]
    contactpoint review defer ID --as USERNAME --note TEXT
    contactpoint review split MERGE_ID --as USERNAME [--note TEXT]
    contactpoint review records CPID --as USERNAME
    contactpoint review split-records CPID --records ID[,ID...] --as USERNAME [--note TEXT]

The same functions as the web pages, with the same scope (the user's local authority), shielding and audit:
the actor is always a named person, never "the operator". The account must be active and its conditions of
access met, as for signing in.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from contactpoint.access.models import User
from contactpoint.access.preconditions import acting_user
from contactpoint.commands import ContactPointCommand
from contactpoint.matching import review
from contactpoint.vault.keyring import get_keyring

DECISIONS = {"link": review.Decision.LINK, "apart": review.Decision.KEEP_APART, "defer": review.Decision.DEFER}


class Command(ContactPointCommand):
    help = ("The match review queue for a data manager: list, show ID, link ID, apart ID, defer ID --note, "
            "split MERGE_ID. Every action needs --as USERNAME and is audited under that name.")

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="the pairs waiting in your local authority's queue, oldest first")
        listing.add_argument("--show", choices=[s.value for s in review.Show], default="pending")
        listing.add_argument("--why", default="", help="only pairs queued for this reason")
        listing.add_argument("--limit", type=int, default=50)
        show = sub.add_parser("show", help="both records side by side with the evidence (audited)")
        show.add_argument("id", type=int)
        for name, words in (("link", "the two records are the same child: merge them"),
                            ("apart", "they are different children: never queue them again"),
                            ("defer", "leave the pair in the queue, with a note saying why")):
            p = sub.add_parser(name, help=words)
            p.add_argument("id", type=int)
            p.add_argument("--note", default="", required=name == "defer")
        split = sub.add_parser("split", help="undo a merge: both records as they were before it")
        split.add_argument("merge_id", type=int)
        split.add_argument("--note", default="")
        records = sub.add_parser("records", help="a record's source records, to choose which to split out (audited)")
        records.add_argument("cpid")
        split_records = sub.add_parser("split-records", help="split source records out of a record into a new "
                                                             "one, whoever linked them")
        split_records.add_argument("cpid")
        split_records.add_argument("--records", required=True, help="their IDs, as 'review records' lists them")
        split_records.add_argument("--note", default="")
        for p in (listing, show, split, records, split_records, *(sub.choices[n] for n in DECISIONS)):
            p.add_argument("--as", dest="username", required=True, help="the data manager acting")

    def handle(self, *args: Any, **options: Any) -> None:
        user = acting_user(options["username"], timezone.localdate())
        action = options["action"]
        if action == "list":
            self._list(user, options)
        elif action == "show":
            self._show(user, options["id"])
        elif action == "records":
            child, held = review.records_of(user, options["cpid"], keyring=get_keyring(), now=timezone.now())
            self.stdout.write(f"{child.cpid}: {len(held)} source record(s)")
            for h in held:
                born = h.date_of_birth.isoformat() if h.date_of_birth else "date of birth not known"
                self.stdout.write(f"{h.id:>9}  {h.source}  {h.given} {h.family}, {born}  (received {h.received})")
        elif action == "split-records":
            try:
                ids = [int(i) for i in options["records"].split(",") if i.strip()]
            except ValueError:
                raise CommandError("--records takes record IDs separated by commas") from None
            new = review.split_records(user, options["cpid"], ids, note=options["note"], keyring=get_keyring(),
                                       now=timezone.now())
            self.stdout.write(f"split: {new.cpid} is a record of its own")
        elif action == "split":
            merge = review.split(user, options["merge_id"], note=options["note"], keyring=get_keyring(),
                                 now=timezone.now())
            self.stdout.write(f"split merge {merge.pk}: {merge.survivor.cpid} and {merge.absorbed.cpid} are two "
                              "records again")
        else:
            made = review.decide(user, options["id"], DECISIONS[action], note=options["note"],
                                 keyring=get_keyring(), now=timezone.now())
            words = {"link": "linked", "keep_apart": "kept apart", "defer": "deferred"}[made.kind]
            suffix = f" (merge {made.merge_id})" if made.merge_id else ""
            self.stdout.write(f"pair {options['id']} {words}{suffix}")

    def _list(self, user: User, options: dict[str, Any]) -> None:
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        queue = review.queue(user, show=review.Show(options["show"]), why=options["why"], limit=options["limit"])
        self.stdout.write(f"{queue.count} pair(s) ({options['show']})")
        for e in queue.entries:
            self.stdout.write(f"{e.id:>7}  {e.created_at:%Y-%m-%d}  {e.status:<10}  {e.probability:5.1%}  "
                              f"{e.cpid_a} / {e.cpid_b}  LA {', '.join(e.local_authorities)}  {e.why}")

    def _show(self, user: User, item_id: int) -> None:
        pair = review.show(user, item_id, keyring=get_keyring(), now=timezone.now())
        scored = (f"scored {pair.evidence.probability:.1%} when queued"
                  if pair.evidence.probability is not None else "score withheld")
        self.stdout.write(f"pair {pair.item.pk}: {pair.why}; {scored}; status {pair.item.status}")
        for label, side in (("A", pair.a), ("B", pair.b)):
            record = side.view.record
            self.stdout.write(f"\n{label}  {side.cpid}  ({side.status}, LA {side.responsible_la}"
                              f"{', shielded' if side.shielded else ''})")
            self.stdout.write(f"   name           {record.name.value.display}")
            self.stdout.write(f"   date of birth  {record.date_of_birth.value.isoformat()}")
            self.stdout.write(f"   gender         {record.gender.value.value}")
            if side.withheld:
                self.stdout.write("   everything else is withheld: the record is shielded by another authority")
                continue
            for words, item in (("NHS number", record.nhs_number), ("UPN", record.upn), ("ULN", record.uln)):
                if item is not None:
                    self.stdout.write(f"   {words:<14} {item.value}")
            where = record.whereabouts
            if where is not None and where.value.address is not None:
                a = where.value.address
                where = ", ".join(p for p in (a.line_1, a.line_2, a.town, a.postcode) if p)
                self.stdout.write(f"   address        {where}")
            for carer in record.carers:
                self.stdout.write(f"   carer          {carer.value.name} ({carer.value.relationship or 'carer'})")
            self.stdout.write(f"   sources        {', '.join(side.sources) or 'none'}")
        self.stdout.write("\nevidence (match weight: + for one child, - against)")
        for row in pair.evidence.rows:
            self.stdout.write(f"   {row.comparison:<20} {row.level:<28} {row.weight:+7.2f}")
        self.stdout.write(f"   {'starting weight':<20} {'':<28} {pair.evidence.prior_weight:+7.2f}")
        self.stdout.write(f"   {'total':<20} {'':<28} {pair.evidence.total_weight:+7.2f}")
        for d in pair.decisions:
            note = f": {d.note}" if d.note else ""
            self.stdout.write(f"{d.decided_at:%Y-%m-%d %H:%M} {d.label} by {d.decided_by}{note}")

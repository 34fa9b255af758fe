"""Tables that read on a phone: the responsive table pattern used across government services (HMRC, DWP).

Below tablet width a table of several columns is wider than the screen, and its last column (often the action:
"View record") ends up off the page. ``responsive_table`` (a Jinja filter, wrapped around any GOV.UK table)
gives each body cell the name of its column as ``data-label`` and the table the class ``app-table--responsive``;
the stylesheet then shows each row as a block of "column: value" lines on a small screen. Wide screens see the
table unchanged, and the markup stays a real table for screen readers."""

from __future__ import annotations

from lxml import html
from markupsafe import Markup


def _visible_text(element) -> str:
    """The text a sighted user sees in a header: an action column's header is only for screen readers, and its
    cells (a button, a link) need no label."""
    hidden = "".join(e.text_content() for e in element.xpath('.//*[contains(@class, "govuk-visually-hidden")]'))
    text = element.text_content()
    return "" if not " ".join(text.replace(hidden, "", 1).split()) else " ".join(text.split())


def responsive_table(markup: str) -> Markup:
    """``markup`` (HTML holding one or more ``govuk-table`` tables) with every body cell labelled by its column."""
    fragments = html.fragments_fromstring(str(markup))
    out = []
    for fragment in fragments:
        if isinstance(fragment, str):
            out.append(str(Markup.escape(fragment)))
            continue
        tables = [fragment] if fragment.tag == "table" else fragment.iter("table")
        for table in tables:
            heads = [_visible_text(th) for th in table.xpath("./thead/tr/th")]
            table.set("class", (table.get("class", "") + " app-table--responsive").strip())
            for row in table.xpath("./tbody/tr"):
                for column, cell in enumerate(row.xpath("./td|./th")):
                    if column < len(heads) and heads[column] and not cell.get("data-label"):
                        cell.set("data-label", heads[column])
        out.append(html.tostring(fragment, encoding="unicode", method="html"))
    return Markup("".join(out))

"""Safe to publish: which cells of a table of counts are shown as "..".

Primary suppression hides every count from ``low`` to ``high`` (1–4 by default): so few people
could be recognised. Complementary suppression then hides more, so a hidden cell cannot be
recomputed from what is shown: the table is published with its row and column totals, and any
line (a row or column with its total) holding exactly one hidden cell would give it away as the
total minus the others. Until no line has exactly one hidden cell, the smallest shown cell of
such a line is hidden too. Where a row's genders are shown, hiding one gender hides both men and
women, so the split cannot be read off the other. A share is shown only on a base of at least
``min_base``, and never from a hidden count.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

Cell = tuple[int, int]  # (row, column) in the table with its margins


@dataclass(frozen=True, slots=True)
class Rule:
    low: int = 1
    high: int = 4
    min_base: int = 10

    def describe(self, language: str) -> str:
        if language == "sv":
            return (
                f'Antal {self.low}–{self.high} visas som ".." och fler celler döljs så att de inte kan räknas fram '
                f"ur summorna (båda könen när ett döljs). Andelar visas bara när basen är minst {self.min_base}."
            )
        return (
            f'Counts of {self.low}–{self.high} are shown as ".." and further cells are hidden so they cannot be '
            f"recomputed from the totals (both genders when one is hidden). Shares only on a base of at least "
            f"{self.min_base}."
        )


def with_margins(inner: list[list[int]]) -> list[list[int]]:
    """The table with a total column on the right and a total row at the bottom."""
    rows = [[*row, sum(row)] for row in inner]
    width = len(inner[0]) if inner else 0
    totals = [sum(row[j] for row in rows) for j in range(width + 1)]
    return [*rows, totals]


@cache
def lines(height: int, width: int) -> list[list[Cell]]:
    """Every row and column of a table with margins: each sums to its last cell."""
    return [[(i, j) for j in range(width)] for i in range(height)] + [
        [(i, j) for i in range(height)] for j in range(width)
    ]


def suppress(table: list[list[int]], rule: Rule, *, paired_columns: tuple[int, ...] = ()) -> set[Cell]:
    """The cells of ``table`` (with margins, see :func:`with_margins`) to show as "..".
    ``paired_columns``: columns hidden together within a row (the genders)."""
    height = len(table)
    width = len(table[0]) if table else 0
    hidden = {(i, j) for i in range(height) for j in range(width) if rule.low <= table[i][j] <= rule.high}
    if not hidden:
        return hidden  # nothing small: nothing to hide, nothing to protect
    every_line = lines(height, width)
    changed = True
    while changed:
        changed = False
        for i in range(height):
            row_pairs = [(i, j) for j in paired_columns]
            if any(c in hidden for c in row_pairs) and not all(c in hidden for c in row_pairs):
                hidden.update(row_pairs)
                changed = True
        for line in every_line:
            inside = [c for c in line if c in hidden]
            if len(inside) == 1:
                shown = [c for c in line if c not in hidden]
                # The smallest shown count costs the least information; a zero only if nothing else.
                shown.sort(key=lambda c: (table[c[0]][c[1]] == 0, table[c[0]][c[1]]))
                hidden.add(shown[0])
                changed = True
    return hidden


def share(numerator: int | None, base: int | None, rule: Rule) -> float | None:
    """numerator/base as a percentage, or None when it may not be shown."""
    if numerator is None or base is None or base < rule.min_base:
        return None
    return 100.0 * numerator / base

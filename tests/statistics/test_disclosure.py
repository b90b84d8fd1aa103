"""Suppression: small counts hidden, complementary cells hidden, nothing hidden recomputable."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from meetsvc.domain.disclosure import Rule, lines, share, suppress, with_margins

RULE = Rule()


def determined(table: list[list[int]], hidden: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Hidden cells whose value follows from the shown ones through the row and column sums
    (Gaussian elimination over the sums' equations restricted to the hidden cells)."""
    order = sorted(hidden)
    index = {c: k for k, c in enumerate(order)}
    height, width = len(table), len(table[0])
    equations = []
    for i in range(height - 1):
        equations.append([(i, j) for j in range(width - 1)] + [(i, width - 1)])
    for j in range(width):
        equations.append([(i, j) for i in range(height - 1)] + [(height - 1, j)])
    for i in (height - 1,):
        equations.append([(i, j) for j in range(width - 1)] + [(i, width - 1)])
    matrix = []
    for cells in equations:
        row = [Fraction(0)] * len(order)
        *parts, total = cells
        for c in parts:
            if c in index:
                row[index[c]] += 1
        if total in index:
            row[index[total]] -= 1
        if any(row):
            matrix.append(row)
    # Reduced row echelon form: a variable is determined when a row has only it.
    pivot_row = 0
    for col in range(len(order)):
        pivot = next((r for r in range(pivot_row, len(matrix)) if matrix[r][col] != 0), None)
        if pivot is None:
            continue
        matrix[pivot_row], matrix[pivot] = matrix[pivot], matrix[pivot_row]
        lead = matrix[pivot_row][col]
        matrix[pivot_row] = [v / lead for v in matrix[pivot_row]]
        for r in range(len(matrix)):
            if r != pivot_row and matrix[r][col] != 0:
                factor = matrix[r][col]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[pivot_row], strict=True)]
        pivot_row += 1
    return {order[next(k for k, v in enumerate(row) if v)] for row in matrix if sum(1 for v in row if v) == 1}


def test_small_counts_and_their_complements_are_hidden() -> None:
    table = with_margins([[3, 40, 0], [25, 30, 1], [50, 60, 2]])
    hidden = suppress(table, RULE, paired_columns=(0, 1))
    assert (0, 0) in hidden and (1, 2) in hidden and (2, 2) in hidden
    # Both genders go when one does.
    assert (0, 1) in hidden
    for line in lines(len(table), len(table[0])):
        assert sum(1 for c in line if c in hidden) != 1
    assert determined(table, hidden) == set()


@pytest.mark.parametrize("seed", range(40))
def test_no_hidden_cell_follows_from_the_totals(seed: int) -> None:
    chance = random.Random(seed)
    inner = [[chance.choice([0, 1, 2, 3, 5, 8, 12, 30]) for _ in range(3)] for _ in range(chance.randint(2, 6))]
    table = with_margins(inner)
    hidden = suppress(table, RULE, paired_columns=(0, 1))
    for i, row in enumerate(table):
        for j, value in enumerate(row):
            if 1 <= value <= 4:
                assert (i, j) in hidden
    for line in lines(len(table), len(table[0])):
        assert sum(1 for c in line if c in hidden) != 1
    assert determined(table, hidden) == set()


def test_a_share_needs_a_base_of_ten_and_shown_counts() -> None:
    assert share(3, 9, RULE) is None
    assert share(None, 50, RULE) is None
    assert share(5, None, RULE) is None
    assert share(12, 50, RULE) == 24.0

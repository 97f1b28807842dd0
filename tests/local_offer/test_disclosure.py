"""Disclosure control of Local Offer quality summaries: worked examples checked by hand, and
properties over random pages (nothing suppressed can be worked out, shown figures are
true, small counts and small groups never show), with the checker itself tested against
an independent rule so that it cannot pass vacuously."""

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.local_offer.disclosure import (
    CANNOT_PROTECT,
    DUPLICATE_ROW_LABEL,
    MISMATCHED_PUBLISHED_TOTALS,
    MISMATCHED_TOTALS,
    NEGATIVE_COUNT,
    NOT_A_COUNT,
    NOT_A_THRESHOLD,
    OTHER_GROUPS,
    RAGGED_TABLE,
    ROW_LABELS_DO_NOT_MATCH,
    SUPPRESSED,
    TOTAL,
    PublishedTable,
    Table,
    recoverable_cells,
    suppress_page,
)

C = SUPPRESSED
GRADES = ["Outstanding", "Good", "Requires improvement", "Inadequate"]


def grades_table(name, rows):
    """A table of grade counts from {label: [outstanding, good, RI, inadequate]}."""
    return Table(name, list(rows), GRADES, [list(counts) for counts in rows.values()])


def published(cells, row_totals, column_totals, total, dropped_rows=(), name="Grades"):
    """A hand-made published table, for testing the checker on chosen patterns."""
    return PublishedTable(
        name=name,
        row_labels=tuple(f"row {r}" for r in range(len(cells))),
        column_labels=tuple(f"column {j}" for j in range(len(column_totals))),
        cells=tuple(tuple(row) for row in cells),
        row_totals=tuple(row_totals),
        column_totals=tuple(column_totals),
        total=total,
        percentages=(),
        dropped_rows=tuple(dropped_rows),
        primary=frozenset(),
        secondary=frozenset(),
    )


# Worked examples ---------------------------------------------------------------------------


def test_one_small_count_is_protected_by_the_cheapest_rectangle():
    # With every total shown, a hidden cell is safe only if it lies on a closed loop of
    # hidden cells turning at rows and columns (else the row or column gives it away), and
    # the shortest loop is a rectangle. The cheapest rectangle through the 3 takes the
    # smallest other count in its column (7, KS3) and in its row (9, Inadequate), closed
    # by the cell where they cross (11): 27 audits hidden, against 31 for KS2/Inadequate
    # (10 + 9 + 12) and 37 for KS3/Good (7 + 12 + 18).
    table = grades_table(
        "Grades by key stage",
        {"KS1": [3, 12, 20, 9], "KS2": [10, 25, 15, 12], "KS3": [7, 18, 30, 11]},
    )
    [page] = suppress_page([table])
    assert page.cells == ((C, 12, 20, C), (10, 25, 15, 12), (C, 18, 30, C))
    assert page.primary == {(0, 0)}
    assert page.secondary == {(0, 3), (2, 0), (2, 3)}
    # Totals are all shown: a cell would do, so no total is hidden.
    assert page.row_totals == (44, 62, 66)
    assert page.column_totals == (20, 55, 65, 32)
    assert page.total == 172
    assert recoverable_cells([page]) == set()


def test_percentages_follow_their_counts():
    table = grades_table(
        "Grades by key stage",
        {"KS1": [3, 12, 20, 9], "KS2": [10, 25, 15, 12], "KS3": [7, 18, 30, 11]},
    )
    [page] = suppress_page([table])
    # Shares of the row total, one decimal place, half up (12/44 = 27.27…, 30/66 = 45.45…).
    assert page.percentages == (
        (C, "27.3", "45.5", C),
        ("16.1", "40.3", "24.2", "19.4"),
        (C, "27.3", "45.5", C),
    )


def test_zeros_are_shown_and_never_used_to_protect_a_count():
    # A hidden zero would add nothing to the hidden sum beside it: the 4 and a hidden 0 in
    # KS1 would add up to 4, so anyone guessing the partner is the zero (the smallest
    # possible choice) has the count. So zeros stay 0: the rectangles through the 4 that
    # would close on a zero (KS2/RI, KS3/Inadequate) are out, and the cheapest left is
    # KS2 and Inadequate (9 + 14 + 12), not KS3/RI (11 + 20 + 17).
    table = grades_table(
        "Grades by key stage",
        {"KS1": [4, 0, 20, 14], "KS2": [9, 16, 0, 12], "KS3": [11, 13, 17, 0]},
    )
    [page] = suppress_page([table])
    assert page.cells == ((C, 0, 20, C), (C, 16, 0, C), (11, 13, 17, 0))
    assert page.secondary == {(0, 3), (1, 0), (1, 3)}
    assert page.percentages[0][1] == "0.0"
    assert recoverable_cells([page]) == set()


def test_a_group_under_ten_audits_is_not_shown_and_cannot_be_worked_out():
    # EY has 7 audits: it is dropped, but the totals still count it, so every table on a
    # page adds up to the same figures. Its counts are then "column total minus the rows
    # shown", unless each column hides another count and some row hides its total. The
    # cheapest way is to hide one whole row with its total, the smallest row without a
    # zero: KS1 (47 audits).
    table = grades_table(
        "Grades by key stage",
        {
            "EY": [1, 2, 4, 0],
            "KS1": [6, 12, 20, 9],
            "KS2": [10, 25, 15, 8],
            "KS3": [7, 18, 30, 11],
        },
    )
    [page] = suppress_page([table])
    assert page.row_labels == ("KS1", "KS2", "KS3")
    assert page.dropped_rows == ("EY",)
    assert page.cells == ((C, C, C, C), (10, 25, 15, 8), (7, 18, 30, 11))
    assert page.row_totals == (C, 58, 66)
    assert page.column_totals == (24, 57, 69, 28)
    assert page.total == 178
    # A hidden row total hides every share of that row: 10.0% of a shown count would give
    # the total away.
    assert page.percentages[0] == (C, C, C, C)
    assert recoverable_cells([page]) == set()
    # Had KS1 been shown, every EY figure, its 0 Inadequate included, would be worked out.
    shown = replace(page, cells=((6, 12, 20, 9), *page.cells[1:]), row_totals=(47, 58, 66))
    assert recoverable_cells([shown]) == {
        (0, OTHER_GROUPS, 0),
        (0, OTHER_GROUPS, 1),
        (0, OTHER_GROUPS, 2),
        (0, OTHER_GROUPS, 3),
        (0, OTHER_GROUPS, TOTAL),
    }


def test_a_group_with_no_audits_is_left_out_without_a_note():
    table = grades_table(
        "Grades by key stage",
        {"EY": [0, 0, 0, 0], "KS1": [12, 20, 6, 0], "KS2": [10, 15, 9, 0]},
    )
    [page] = suppress_page([table])
    assert page.row_labels == ("KS1", "KS2")
    assert page.dropped_rows == ()
    assert page.cells == ((12, 20, 6, 0), (10, 15, 9, 0))
    assert page.column_totals == (22, 35, 15, 0)


def test_a_column_with_no_audits_needs_no_protection_for_the_dropped_group():
    # Nobody was graded Inadequate, so everybody knows EY had none either: the 0 total
    # discloses nothing and no shown Inadequate count is hidden for it.
    table = grades_table(
        "Grades by key stage",
        {"EY": [2, 3, 3, 0], "KS1": [12, 20, 6, 0], "KS2": [10, 15, 9, 0]},
    )
    [page] = suppress_page([table])
    assert [row[3] for row in page.cells] == [0, 0]
    assert page.column_totals[3] == 0
    assert recoverable_cells([page]) == set()


def test_a_page_with_fewer_audits_than_a_group_shows_nothing():
    page = suppress_page(
        [
            grades_table("Grades", {"All audits": [2, 3, 1, 1]}),
            grades_table("Grades by key stage", {"KS1": [2, 1, 0, 0], "KS2": [0, 2, 1, 1]}),
        ]
    )
    for table in page:
        assert table.cells == ()
        assert table.column_totals == (C, C, C, C)
        assert table.total == C
    assert page[1].dropped_rows == ("KS1", "KS2")
    assert recoverable_cells(page) == set()


def test_two_suppressed_ones_that_must_add_up_to_two_are_both_protected():
    # "c" + "c" = 2 is not solvable by linear algebra, but every "c" is at least 1 (zeros
    # are never hidden), so both would be 1. A third count joins them.
    [page] = suppress_page([grades_table("Grades", {"All audits": [1, 1, 20, 30]})])
    assert page.cells == ((C, C, C, 30),)
    assert page.column_totals == (C, C, C, 30)
    only_two = published([[C, C, 20, 30]], [52], [C, C, 20, 30], 52)
    assert recoverable_cells([only_two]) == {
        (0, 0, 0),
        (0, 0, 1),
        (0, TOTAL, 0),
        (0, TOTAL, 1),
    }


# Two tables sharing their totals ------------------------------------------------------------

OVERALL = grades_table("Grades", {"All audits": [34, 15, 17, 3]})
BY_KEY_STAGE = grades_table("Grades by key stage", {"KS1": [25, 3, 15, 2], "KS2": [9, 12, 2, 1]})


def test_tables_suppressed_one_at_a_time_leak_through_their_shared_totals():
    # On its own, the overall table hides Good (15, the smallest other count) to protect
    # Inadequate (3), in its cells and its column totals. On its own, the key stage table
    # has no reason to hide the Good total and shows 15, so a reader of both tables gets
    # Inadequate = 69 - 34 - 15 - 17 = 3.
    naive = [suppress_page([table])[0] for table in (OVERALL, BY_KEY_STAGE)]
    assert naive[0].column_totals == (34, C, 17, C)
    assert naive[1].column_totals[1] == 15
    assert (0, 0, 3) in recoverable_cells(naive)


def test_tables_suppressed_together_share_their_totals_and_leak_nothing():
    page = suppress_page([OVERALL, BY_KEY_STAGE])
    assert page[0].column_totals == page[1].column_totals == (34, C, 17, C)
    assert page[0].total == page[1].total == 69
    assert page[0].cells == ((34, C, 17, C),)
    assert page[1].cells == ((25, C, C, C), (9, 12, C, C))
    assert recoverable_cells(page) == set()
    # The shared Good total is a secondary suppression of both tables; the page does not
    # say which kind it is, but the record does.
    assert (TOTAL, 1) in page[0].secondary
    assert (TOTAL, 1) in page[1].secondary


def test_tables_with_different_columns_share_nothing():
    sections = Table("Sections", ["A", "B"], ["Good or better", "Below good"], [[50, 19], [40, 29]])
    page = suppress_page([OVERALL, sections])
    assert page[1].cells == ((50, 19), (40, 29))
    assert page[1].total == 138


# Errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        (
            [Table("Grades", ["All"], GRADES, [[1, 2, -3, 4]])],
            NEGATIVE_COUNT.format(table="Grades", value=-3, row="All"),
        ),
        (
            [Table("Grades", ["All"], GRADES, [[1, 2, 2.5, 4]])],
            NOT_A_COUNT.format(table="Grades", value=2.5, row="All"),
        ),
        (
            [Table("Grades", ["All"], GRADES, [[1, 2, 3]])],
            RAGGED_TABLE.format(row="All", table="Grades", found=3, expected=4),
        ),
        (
            [Table("Grades", ["All", "More"], GRADES, [[1, 2, 3, 4]])],
            ROW_LABELS_DO_NOT_MATCH.format(table="Grades", labels=2, rows=1),
        ),
        (
            [Table("Grades", ["KS1", "KS1"], GRADES, [[1, 2, 3, 4], [1, 2, 3, 4]])],
            DUPLICATE_ROW_LABEL.format(table="Grades", label="KS1"),
        ),
        (
            [OVERALL, grades_table("Grades by key stage", {"KS1": [34, 15, 17, 4]})],
            MISMATCHED_TOTALS.format(
                table="Grades",
                other="Grades by key stage",
                totals=[34, 15, 17, 3],
                other_totals=[34, 15, 17, 4],
            ),
        ),
    ],
)
def test_tables_that_cannot_be_published_are_refused_with_a_reason(tables, message):
    with pytest.raises(ValueError) as error:
        suppress_page(tables)
    assert str(error.value) == message


def test_thresholds_must_be_whole_numbers():
    with pytest.raises(ValueError) as error:
        suppress_page([OVERALL], primary_max=-1)
    assert str(error.value) == NOT_A_THRESHOLD.format(primary_max=-1, min_group=10)


def test_thresholds_that_give_a_figure_away_are_refused_at_publication():
    # With groups under 2 audits dropped, a reader knows each dropped group had exactly one;
    # in a one-column table its one audit is in that column, whatever is hidden.
    table = Table("Plans audited", ["EY"], ["Audits"], [[1]])
    with pytest.raises(RuntimeError) as error:
        suppress_page([table], min_group=2)
    assert str(error.value) == CANNOT_PROTECT


def test_the_checker_refuses_a_page_whose_shared_totals_disagree():
    first = published([[10, 20]], [30], [10, 20], 30)
    second = published([[10, 21]], [31], [10, 21], 31, name="Grades by key stage")
    with pytest.raises(ValueError) as error:
        recoverable_cells([first, second])
    assert str(error.value) == MISMATCHED_PUBLISHED_TOTALS.format(
        table="Grades", other="Grades by key stage"
    )


# Properties over random pages ----------------------------------------------------------------

COUNT = st.one_of(st.integers(0, 6), st.integers(0, 40))


@st.composite
def pages(draw):
    """1–3 tables of grade counts (up to 5 rows) that break down the same audits, so share
    their column totals, as the tables of a real summary page do (a one-row table is the
    overall grade distribution)."""
    columns = draw(st.integers(1, 4))
    first = draw(
        st.lists(st.lists(COUNT, min_size=columns, max_size=columns), min_size=1, max_size=5)
    )
    totals = [sum(column) for column in zip(*first, strict=True)]
    tables = [first]
    for _ in range(draw(st.integers(0, 2))):
        rows = draw(st.integers(1, 5))
        parts = []
        for total in totals:
            cuts = sorted(
                draw(st.lists(st.integers(0, total), min_size=rows - 1, max_size=rows - 1))
            )
            parts.append([b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)])
        tables.append([list(row) for row in zip(*parts, strict=True)])
    labels = [f"grade {j}" for j in range(columns)]
    return [
        Table(f"table {t}", [f"group {r}" for r in range(len(counts))], labels, counts)
        for t, counts in enumerate(tables)
    ]


def check_page(tables, page, primary_max, min_group):
    """Everything a published page must satisfy."""
    assert recoverable_cells(page, min_group=min_group) == set()
    assert len({table.column_totals for table in page}) == 1
    assert len({table.total for table in page}) == 1
    for table, shown in zip(tables, page, strict=True):
        rows = dict(zip(table.row_labels, table.counts, strict=True))
        sizes = {label: sum(counts) for label, counts in rows.items()}
        assert set(shown.row_labels) == {g for g, n in sizes.items() if n and n >= min_group}
        assert set(shown.dropped_rows) == {g for g, n in sizes.items() if 0 < n < min_group}
        truth = [
            ([*rows[label], sizes[label]], [*cells, total])
            for label, cells, total in zip(
                shown.row_labels, shown.cells, shown.row_totals, strict=True
            )
        ]
        column_totals = [sum(column) for column in zip(*table.counts, strict=True)]
        truth.append(
            (
                [*column_totals, sum(column_totals)],
                [*shown.column_totals, shown.total],
            )
        )
        for true_values, shown_values in truth:
            for true, figure in zip(true_values, shown_values, strict=True):
                if figure == C:
                    assert true > 0  # zeros are always shown
                else:
                    assert figure == true
                    assert not 1 <= true <= primary_max
        suppressed = {
            (r, j)
            for r, row in enumerate(shown.cells)
            for j, cell in enumerate([*row, shown.row_totals[r]])
            if cell == C
        }
        suppressed = {(r, TOTAL if j == len(shown.column_labels) else j) for r, j in suppressed}
        suppressed |= {
            (TOTAL, TOTAL if j == len(shown.column_labels) else j)
            for j, cell in enumerate([*shown.column_totals, shown.total])
            if cell == C
        }
        assert shown.primary | shown.secondary == suppressed
        assert not shown.primary & shown.secondary
        for row, total, shares in zip(
            shown.cells, shown.row_totals, shown.percentages, strict=True
        ):
            for cell, share in zip(row, shares, strict=True):
                assert (share == C) == (cell == C or total == C)
                if share != C:
                    assert abs(float(share) - 100 * cell / total) <= 0.05 + 1e-9


@settings(max_examples=200, deadline=None)
@given(pages())
def test_random_pages_publish_nothing_that_can_be_worked_out(tables):
    page = suppress_page(tables)
    check_page(tables, page, primary_max=5, min_group=10)
    assert suppress_page(tables) == page  # the same tables always give the same page


# A minimum group of 2 is left out: the rules themselves then say every dropped group had
# exactly one audit (see test_thresholds_that_give_a_figure_away_are_refused_at_publication).
MIN_GROUPS = st.one_of(st.integers(0, 1), st.integers(3, 12))


@settings(max_examples=100, deadline=None)
@given(pages(), st.integers(0, 6), MIN_GROUPS)
def test_random_pages_are_safe_whatever_the_thresholds(tables, primary_max, min_group):
    page = suppress_page(tables, primary_max=primary_max, min_group=min_group)
    check_page(tables, page, primary_max, min_group)


# The checker itself ---------------------------------------------------------------------------


def bridges(unknown):
    """An independent rule for one table: its figures are the edges of a graph joining a
    row (or the totals row, or the dropped groups) to a column (or the totals column), and
    every relation says the edges at one vertex add up. A hidden figure can be worked out
    exactly when its edge is on no loop of hidden edges: when it is a bridge."""

    def ends(position):
        row, column = position
        return (
            ("row", "totals" if row == TOTAL else row),
            ("column", "totals" if column == TOTAL else column),
        )

    edges = {position: ends(position) for position in unknown}
    found = set()
    for position, (start, goal) in edges.items():
        others = [ends for other, ends in edges.items() if other != position]
        reached, frontier = {start}, [start]
        while frontier:
            vertex = frontier.pop()
            for a, b in others:
                for here, there in ((a, b), (b, a)):
                    if here == vertex and there not in reached:
                        reached.add(there)
                        frontier.append(there)
        if goal not in reached:
            found.add(position)
    return found


@st.composite
def suppression_patterns(draw):
    """A table of large counts (so no bound gives anything away), perhaps with a dropped
    group, and any choice of its cells and totals to hide."""
    rows = draw(st.integers(1, 4))
    columns = draw(st.integers(1, 4))
    counts = draw(
        st.lists(
            st.lists(st.integers(20, 40), min_size=columns, max_size=columns),
            min_size=rows,
            max_size=rows,
        )
    )
    dropped = draw(
        st.one_of(st.none(), st.lists(st.integers(1, 2), min_size=columns, max_size=columns))
    )
    positions = [(r, j) for r in [*range(rows), TOTAL] for j in [*range(columns), TOTAL]]
    hidden = draw(st.sets(st.sampled_from(positions)))
    return counts, dropped, hidden


@settings(max_examples=200, deadline=None)
@given(suppression_patterns())
def test_the_checker_finds_exactly_the_figures_on_no_loop(pattern):
    counts, dropped, hidden = pattern
    column_totals = [
        sum(column) for column in zip(*counts, *([dropped] if dropped else []), strict=True)
    ]
    figures = {(r, j): value for r, row in enumerate(counts) for j, value in enumerate(row)}
    figures.update({(r, TOTAL): sum(row) for r, row in enumerate(counts)})
    figures.update({(TOTAL, j): total for j, total in enumerate(column_totals)})
    figures[(TOTAL, TOTAL)] = sum(column_totals)
    shown = {position: C if position in hidden else value for position, value in figures.items()}
    rows, columns = len(counts), len(column_totals)
    table = published(
        [[shown[(r, j)] for j in range(columns)] for r in range(rows)],
        [shown[(r, TOTAL)] for r in range(rows)],
        [shown[(TOTAL, j)] for j in range(columns)],
        shown[(TOTAL, TOTAL)],
        dropped_rows=["small group"] if dropped else [],
    )
    unknown = set(hidden)
    if dropped:
        unknown |= {(OTHER_GROUPS, j) for j in [*range(columns), TOTAL]}
    expected = bridges(unknown)
    assert recoverable_cells([table]) == {(0, *position) for position in expected}


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.lists(st.integers(6, 40), min_size=4, max_size=4), min_size=2, max_size=5),
    st.data(),
)
def test_a_single_hidden_cell_in_a_row_with_its_total_is_always_found(counts, data):
    [page] = suppress_page(
        [grades_table("Grades", {f"KS{r}": row for r, row in enumerate(counts)})]
    )
    assert page.cells == tuple(tuple(row) for row in counts)  # nothing small to hide
    r = data.draw(st.integers(0, len(counts) - 1))
    j = data.draw(st.integers(0, 3))
    cells = [list(row) for row in page.cells]
    cells[r][j] = C
    assert recoverable_cells([replace(page, cells=tuple(map(tuple, cells)))]) == {(0, r, j)}

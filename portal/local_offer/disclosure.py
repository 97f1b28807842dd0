"""Disclosure control for the quality summaries published on the Local Offer: which counts,
totals and percentages of one page are shown and which are shown as "c", so that no small
count, and nothing about a small group, can be worked out from anything else on the page.
Plain data in and out; the same tables always give the same page.

The rules (thresholds are parameters; the defaults are those of DESIGN.md):

- **Primary suppression.** A count from 1 to `primary_max` is shown as "c", wherever it is:
  a cell, a row total, a column total or a grand total. Zero is always shown as 0.
- **Small groups.** A row (a group of a breakdown) with fewer than `min_group` audits is not
  shown at all, and is listed in `dropped_rows` for a note such as "groups with fewer than
  10 audits are not shown". A row with no audits is left out silently: there is nothing to
  show and nothing to protect, so it is not listed either.
- **Totals stay the full totals.** Column totals and grand totals always count every audit,
  dropped groups included, so every breakdown on the page adds up to the same overall
  figures (as parents expect). The dropped rows of a table then form one hidden "other
  groups" row, and every cell and the total of that hidden row is treated as suppressed:
  none of them may be recoverable, whatever its value, zeros included (else "the only group
  not shown had no Outstanding plans" would still be published). The one exception is a
  column whose published total is 0: everybody then knows every group has 0 there.
  Keeping one hidden row is safer than publishing an "Other groups" row: an "other" row
  made of a single small group would publish that group under another name.
- **Secondary suppression.** Further counts (and only if no count will do, totals) are
  suppressed until no suppressed figure can be worked out from the relations the page
  publishes. Those relations are every row, column and grand total of every table, and the
  totals tables share: tables on one page with the same column labels are breakdowns of the
  same audits by the same columns, so they share column totals and grand total (a column
  total is suppressed in all of them or in none). Tables with different column labels are
  taken to share nothing. Choice is greedy and deterministic: at each step, among the
  shown non-zero figures in a relation with a figure still at risk, the one that leaves
  the fewest figures recoverable, then a cell before a total, then the smallest, then the
  first in reading order; where no one figure helps, the best pair among the cheapest
  (protecting a cell can take two more at once, such as a shared column total and the
  overall table's cell). Afterwards every secondary suppression that is no longer needed
  (totals first, then the largest counts) is shown again.
- **Zeros are never suppressed**, not even as secondary cells. A suppressed zero adds
  nothing to the sum of the suppressed cells beside it, so it would protect a small count
  only on paper: anyone who guesses the partner is the zero (secondary cells are the
  smallest available, and zero is the smallest of all) has the count. It also means every
  "c" is at least 1, which a careful reader knows and which the check below uses.
- **Percentages follow their counts.** Percentages are shares of the row total, to one
  decimal place (half up). A percentage is "c" where its count is "c", and every percentage
  of a row is "c" where the row total is "c" (a shown count with its percentage gives the
  total away). Where the row total is shown, the shown percentages are worked out from
  shown figures only, so they reveal nothing more.

Being "worked out" is decided exactly (`recoverable_cells`): by linear algebra over the
rationals on every published relation, plus the bounds a reader of these rules knows (a "c"
is at least 1, a shown row has at least `min_group` audits, a dropped group fewer): a
relation whose suppressed figures can only all sit at their least (or greatest) values pins
them, as "c" + "c" = 2 pins both at 1. Narrower bounds that are not exact values (for
example "c" + "c" = 3) are not treated as disclosure."""

from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations
from math import gcd

SUPPRESSED = "c"
TOTAL = "total"
OTHER_GROUPS = "other groups"

NOT_A_THRESHOLD = (
    "The disclosure thresholds must be whole numbers, zero or more: got primary_max="
    "{primary_max} and min_group={min_group}."
)
ROW_LABELS_DO_NOT_MATCH = "“{table}” has {labels} row labels but {rows} rows of counts."
DUPLICATE_ROW_LABEL = "“{table}” has the row “{label}” more than once."
RAGGED_TABLE = (
    "Row “{row}” of “{table}” has {found} counts but the table has {expected} columns: every "
    "row needs one count per column."
)
NOT_A_COUNT = "Counts must be whole numbers: “{table}” has {value!r} in row “{row}”."
NEGATIVE_COUNT = "Counts cannot be negative: “{table}” has {value} in row “{row}”."
MISMATCHED_TOTALS = (
    "“{table}” and “{other}” break down the same columns but do not count the same audits: "
    "their column totals are {totals} and {other_totals}."
)
MISMATCHED_PUBLISHED_TOTALS = (
    "“{table}” and “{other}” publish different values for the same shared total."
)
# Secondary suppression looks at pairs among this many of the cheapest candidates.
PAIR_CANDIDATES = 10

# Hiding every non-zero figure always protects a page unless the thresholds themselves give
# a figure away: with a minimum group of 2, each dropped group is known to have one audit.
CANNOT_PROTECT = (
    "Disclosure control cannot protect every hidden figure on this page: raise the "
    "minimum group size."
)


@dataclass(frozen=True)
class Table:
    """One table a page will publish: counts (rows = groups of a breakdown, columns = grades
    or other categories) with their row and column labels."""

    name: str
    row_labels: list[str]
    column_labels: list[str]
    counts: list[list[int]]


@dataclass(frozen=True)
class PublishedTable:
    """A table as the page shows it: every figure an int or "c" (SUPPRESSED), percentages
    as strings such as "27.3" or "c", and the groups not shown. `primary` and `secondary`
    say which positions were suppressed and why, for tests only: the page must not show
    them. Positions are (row, column) in the shown rows, with TOTAL for a total."""

    name: str
    row_labels: tuple[str, ...]
    column_labels: tuple[str, ...]
    cells: tuple[tuple[int | str, ...], ...]
    row_totals: tuple[int | str, ...]
    column_totals: tuple[int | str, ...]
    total: int | str
    percentages: tuple[tuple[str, ...], ...]
    dropped_rows: tuple[str, ...]
    primary: frozenset[tuple[int | str, int | str]]
    secondary: frozenset[tuple[int | str, int | str]]


def _is_whole(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(tables, primary_max, min_group):
    if not (_is_whole(primary_max) and _is_whole(min_group)) or min(primary_max, min_group) < 0:
        raise ValueError(NOT_A_THRESHOLD.format(primary_max=primary_max, min_group=min_group))
    for table in tables:
        if len(table.row_labels) != len(table.counts):
            raise ValueError(
                ROW_LABELS_DO_NOT_MATCH.format(
                    table=table.name, labels=len(table.row_labels), rows=len(table.counts)
                )
            )
        seen = set()
        for label, row in zip(table.row_labels, table.counts, strict=True):
            if label in seen:
                raise ValueError(DUPLICATE_ROW_LABEL.format(table=table.name, label=label))
            seen.add(label)
            if len(row) != len(table.column_labels):
                raise ValueError(
                    RAGGED_TABLE.format(
                        row=label,
                        table=table.name,
                        found=len(row),
                        expected=len(table.column_labels),
                    )
                )
            for value in row:
                if not _is_whole(value):
                    raise ValueError(NOT_A_COUNT.format(table=table.name, value=value, row=label))
                if value < 0:
                    raise ValueError(
                        NEGATIVE_COUNT.format(table=table.name, value=value, row=label)
                    )
    first_of_group = {}
    for table in tables:
        columns = tuple(table.column_labels)
        totals = [sum(column) for column in zip(*table.counts, strict=True)] or [0] * len(columns)
        if columns in first_of_group:
            other, other_totals = first_of_group[columns]
            if totals != other_totals:
                raise ValueError(
                    MISMATCHED_TOTALS.format(
                        table=other.name,
                        other=table.name,
                        totals=other_totals,
                        other_totals=totals,
                    )
                )
        else:
            first_of_group[columns] = (table, totals)


def _is_total(key):
    return key[0] == "columns" or key[2] == TOTAL


class _Relations:
    """Every linear relation a reader of one page knows, over the page's figures.

    A figure is keyed (table, row, column): a cell (t, r, j) of a shown row, a row total
    (t, r, TOTAL), a cell or the total of a table's hidden row of dropped groups
    (t, OTHER_GROUPS, j or TOTAL), and, shared by the tables of column group g, a column
    total ("columns", g, j) or the grand total ("columns", g, TOTAL)."""

    def __init__(self, shape, min_group):
        """`shape`: per table, (column group, shown rows, columns, dropped groups)."""
        self.min_group = min_group
        self.groups = {}
        self.columns = {}
        self.dropped = {}
        self.equations = []
        for t, (group, rows, columns, dropped) in enumerate(shape):
            self.groups.setdefault(group, []).append(t)
            self.columns[group] = columns
            self.dropped[t] = dropped
            rows = [*range(rows), *([OTHER_GROUPS] if dropped else [])]
            for r in rows:
                self._relate([(t, r, j) for j in range(columns)], (t, r, TOTAL))
            for j in range(columns):
                self._relate([(t, r, j) for r in rows], ("columns", group, j))
            self._relate([(t, r, TOTAL) for r in rows], ("columns", group, TOTAL))
        for group, columns in self.columns.items():
            self._relate([("columns", group, j) for j in range(columns)], ("columns", group, TOTAL))
        self.order = {}
        for equation in self.equations:
            for key, _ in equation:
                self.order.setdefault(key, len(self.order))

    def _relate(self, parts, total):
        """The parts add up to the total."""
        self.equations.append([*((part, 1) for part in parts), (total, -1)])

    def bounds(self, key):
        """(least, greatest or None) that a reader knows a suppressed figure lies between:
        a "c" is at least 1 (zeros are never suppressed), a shown row has at least
        min_group audits, and each dropped group has from 1 to min_group - 1."""
        table, row, column = key
        if row == OTHER_GROUPS:
            dropped = self.dropped[table]
            most = dropped * max(self.min_group - 1, 0)
            return (dropped if column == TOTAL else 0), most
        if table != "columns" and column == TOTAL:
            return max(self.min_group, 1), None
        return 1, None

    def recoverable(self, known):
        """The figures not in `known` ({key: value}) that the relations determine."""
        known = dict(known)
        for group, members in self.groups.items():
            for j in range(self.columns[group]):
                if known.get(("columns", group, j)) == 0:
                    # Everybody knows every group has 0 here; nothing left to protect.
                    known.update({(t, OTHER_GROUPS, j): 0 for t in members if self.dropped[t]})
        system = _Elimination(self.order)
        for equation in self.equations:
            system.add(*_substituted(equation, known))
        while True:
            determined = system.determined()
            pinned = self._pinned({**known, **determined})
            new = {key: value for key, value in pinned.items() if key not in determined}
            if not new:
                return set(determined)
            for key, value in new.items():
                system.add({key: 1}, value)

    def _pinned(self, known):
        """Figures fixed because one relation leaves its unknowns no room: each must sit at
        the bound that makes the sum least (or greatest)."""
        pinned = {}
        for equation in self.equations:
            terms, residual = _substituted(equation, known)
            if len(terms) < 2:
                continue
            least, greatest = {}, {}
            for key, coefficient in terms.items():
                low, high = self.bounds(key)
                least[key], greatest[key] = (low, high) if coefficient > 0 else (high, low)
            for ends in (least, greatest):
                if None not in ends.values() and residual == sum(
                    terms[key] * value for key, value in ends.items()
                ):
                    pinned.update(ends)
        return pinned


def _substituted(equation, known):
    """An equation's unknown terms {key: coefficient} and its right-hand side."""
    terms = {}
    residual = 0
    for key, coefficient in equation:
        if key in known:
            residual -= coefficient * known[key]
        else:
            terms[key] = coefficient
    return terms, residual


class _Elimination:
    """Gauss–Jordan elimination, exact over the rationals, one equation at a time. Rows are
    kept as whole numbers (scaled rather than divided, then reduced by their common
    divisor), and the pivot rows stay fully reduced, so an unknown is determined exactly
    when its pivot row holds no other unknown: its unit vector is then in the row space of
    the equations, and its value is the row's right-hand side over its coefficient."""

    def __init__(self, order):
        self.order = order
        self.pivots = {}

    def add(self, terms, residual):
        row = {key: value for key, value in terms.items() if value}
        rhs = residual
        # Reduced pivot rows hold no other pivot, so one pass clears every pivot.
        for pivot in [key for key in row if key in self.pivots]:
            pivot_row, pivot_rhs = self.pivots[pivot]
            row, rhs = _eliminated(row, rhs, pivot, pivot_row, pivot_rhs)
        if not row:
            return  # a consequence of the equations already added
        pivot = min(row, key=self.order.__getitem__)
        for other, (other_row, other_rhs) in list(self.pivots.items()):
            if pivot in other_row:
                self.pivots[other] = _eliminated(other_row, other_rhs, pivot, row, rhs)
        self.pivots[pivot] = (row, rhs)

    def determined(self):
        """{unknown: value} for every unknown the equations fix."""
        return {
            pivot: Fraction(rhs, row[pivot])
            for pivot, (row, rhs) in self.pivots.items()
            if len(row) == 1
        }


def _eliminated(row, rhs, pivot, pivot_row, pivot_rhs):
    """row with `pivot` cleared using pivot_row, in whole numbers with no common divisor."""
    scale, factor = pivot_row[pivot], row[pivot]
    combined = {key: scale * value for key, value in row.items()}
    for key, value in pivot_row.items():
        updated = combined.get(key, 0) - factor * value
        if updated:
            combined[key] = updated
        else:
            del combined[key]
    rhs = scale * rhs - factor * pivot_rhs
    divisor = gcd(rhs, *combined.values())
    if divisor > 1:
        combined = {key: value // divisor for key, value in combined.items()}
        rhs //= divisor
    return combined, rhs


class _Page:
    """One page's figures with their true values, and its relations."""

    def __init__(self, tables, min_group):
        self.tables = tables
        self.group = []
        self.shown = []
        self.dropped = []
        self.values = {}
        first_of_group = {}
        for t, table in enumerate(tables):
            group = first_of_group.setdefault(tuple(table.column_labels), t)
            self.group.append(group)
            columns = range(len(table.column_labels))
            totals = [sum(row) for row in table.counts]
            shown = [i for i, total in enumerate(totals) if total and total >= min_group]
            dropped = [i for i, total in enumerate(totals) if 0 < total < min_group]
            self.shown.append(shown)
            self.dropped.append(tuple(table.row_labels[i] for i in dropped))
            for r, i in enumerate(shown):
                self.values.update({(t, r, j): table.counts[i][j] for j in columns})
                self.values[(t, r, TOTAL)] = totals[i]
            if dropped:
                for j in columns:
                    self.values[(t, OTHER_GROUPS, j)] = sum(table.counts[i][j] for i in dropped)
                self.values[(t, OTHER_GROUPS, TOTAL)] = sum(totals[i] for i in dropped)
            for j in columns:
                self.values[("columns", group, j)] = sum(row[j] for row in table.counts)
            self.values[("columns", group, TOTAL)] = sum(totals)
        self.relations = _Relations(
            [
                (self.group[t], len(self.shown[t]), len(table.column_labels), len(self.dropped[t]))
                for t, table in enumerate(tables)
            ],
            min_group,
        )
        # Everything the page may show, in reading order: cells, then the totals.
        self.figures = sorted(
            (key for key in self.values if key[1] != OTHER_GROUPS),
            key=lambda key: (_is_total(key), self.relations.order[key]),
        )
        self.rank = {key: i for i, key in enumerate(self.figures)}
        self.checked = {}

    def recoverable(self, suppressed):
        """The suppressed or hidden figures a reader could work out."""
        suppressed = frozenset(suppressed)
        if suppressed not in self.checked:
            known = {
                key: value
                for key, value in self.values.items()
                if key not in suppressed and key[1] != OTHER_GROUPS
            }
            self.checked[suppressed] = self.relations.recoverable(known)
        return self.checked[suppressed]

    def preference(self, key):
        """Order in which figures are chosen for secondary suppression."""
        return (_is_total(key), self.values[key], self.rank[key])

    def protect(self, primary):
        """The primary suppressions plus the secondary ones that stop any suppressed or
        hidden figure being worked out."""
        suppressed = set(primary)
        at_risk = self.recoverable(suppressed)
        while at_risk:
            nearby = {
                key
                for equation in self.relations.equations
                if any(key in at_risk for key, _ in equation)
                for key, _ in equation
            }
            candidates = [
                key
                for key in self.figures
                if key not in suppressed and self.values[key] and key in nearby
            ] or [key for key in self.figures if key not in suppressed and self.values[key]]
            if not candidates:
                raise RuntimeError(CANNOT_PROTECT)
            candidates.sort(key=self.preference)
            best = self._best_addition(suppressed, [(key,) for key in candidates])
            if best[0] >= len(at_risk) and len(candidates) > 1:
                # No one figure helps: a cycle may need two more (a cell and a shared total,
                # or the two far corners of a rectangle). Look among the cheapest pairs.
                pairs = self._best_addition(
                    suppressed, list(combinations(candidates[:PAIR_CANDIDATES], 2))
                )
                if pairs[0] < min(best[0], len(at_risk)):
                    best = pairs
            suppressed.update(best[1])
            at_risk = self.recoverable(suppressed)
        # Show again what the greedy steps turned out not to need: totals first, then the
        # largest counts, as those carry the most information.
        release_order = sorted(
            suppressed - primary,
            key=lambda key: (not _is_total(key), -self.values[key], self.rank[key]),
        )
        for key in release_order:
            if not self.recoverable(suppressed - {key}):
                suppressed.discard(key)
        return suppressed

    def _best_addition(self, suppressed, additions):
        """(figures left recoverable, addition) for the best of `additions` (tuples of
        figures): fewest left recoverable, then fewest totals, then the least information,
        then the first in reading order."""
        best = None
        for addition in additions:
            left = len(self.recoverable(suppressed.union(addition)))
            cost = (
                left,
                sum(map(_is_total, addition)),
                sum(self.values[key] for key in addition),
                [self.rank[key] for key in addition],
            )
            if best is None or cost < best[0]:
                best = (cost, addition)
        return best[0][0], best[1]

    def published(self, t, primary, suppressed):
        """Table t as the page shows it."""
        table = self.tables[t]
        group = self.group[t]
        columns = range(len(table.column_labels))

        def shown(key):
            return SUPPRESSED if key in suppressed else self.values[key]

        def position(key):
            if key[0] == "columns":
                return (TOTAL, key[2])
            return key[1:]

        def mine(key):
            return key[0] == t or key[:2] == ("columns", group)

        rows = range(len(self.shown[t]))
        cells = tuple(tuple(shown((t, r, j)) for j in columns) for r in rows)
        row_totals = tuple(shown((t, r, TOTAL)) for r in rows)
        return PublishedTable(
            name=table.name,
            row_labels=tuple(table.row_labels[i] for i in self.shown[t]),
            column_labels=tuple(table.column_labels),
            cells=cells,
            row_totals=row_totals,
            column_totals=tuple(shown(("columns", group, j)) for j in columns),
            total=shown(("columns", group, TOTAL)),
            percentages=tuple(
                tuple(_percentage(cell, total) for cell in row)
                for row, total in zip(cells, row_totals, strict=True)
            ),
            dropped_rows=self.dropped[t],
            primary=frozenset(position(key) for key in primary if mine(key)),
            secondary=frozenset(position(key) for key in suppressed - primary if mine(key)),
        )


def _percentage(count, total):
    """A count's share of its row total to one decimal place, half up; "c" where either is
    suppressed (a shown count and its percentage would give a suppressed total away)."""
    if SUPPRESSED in (count, total):
        return SUPPRESSED
    tenths = (2000 * count + total) // (2 * total)
    return f"{tenths // 10}.{tenths % 10}"


def suppress_page(tables, *, primary_max=5, min_group=10):
    """Apply disclosure control to every table one page publishes, together (see the module
    docstring for the rules). Returns one PublishedTable per table, in order. Raises
    ValueError with one of this module's messages for tables that cannot be published."""
    _validate(tables, primary_max, min_group)
    page = _Page(tables, min_group)
    primary = {key for key in page.figures if 1 <= page.values[key] <= primary_max}
    suppressed = page.protect(primary)
    return [page.published(t, primary, suppressed) for t in range(len(tables))]


def recoverable_cells(published_tables, *, min_group=10):
    """The suppressed figures of a published page that a reader could work out exactly from
    everything the page shows (see the module docstring), as (table index, row, column):
    row is a shown row's index, TOTAL (a column or grand total) or OTHER_GROUPS (the dropped
    groups taken together); column is a column index or TOTAL (a row or grand total).
    Tables with the same column labels share column totals and grand total, so those are
    reported for each of them. An empty set means the page discloses nothing."""
    first_of_group = {}
    shape = []
    known = {}
    owner = {}
    for t, table in enumerate(published_tables):
        group = first_of_group.setdefault(tuple(table.column_labels), t)
        shape.append((group, len(table.cells), len(table.column_labels), len(table.dropped_rows)))
        figures = {}
        for r, (row, total) in enumerate(zip(table.cells, table.row_totals, strict=True)):
            figures.update({(t, r, j): value for j, value in enumerate(row)})
            figures[(t, r, TOTAL)] = total
        shared = {("columns", group, j): value for j, value in enumerate(table.column_totals)}
        shared[("columns", group, TOTAL)] = table.total
        for key, value in shared.items():
            if value == SUPPRESSED:
                continue
            if known.setdefault(key, value) != value:
                raise ValueError(
                    MISMATCHED_PUBLISHED_TOTALS.format(table=owner[key], other=table.name)
                )
            owner.setdefault(key, table.name)
        known.update({key: value for key, value in figures.items() if value != SUPPRESSED})
    relations = _Relations(shape, min_group)
    found = set()
    for key in relations.recoverable(known):
        if key[0] == "columns":
            found.update((t, TOTAL, key[2]) for t in relations.groups[key[1]])
        else:
            found.add(key)
    return found

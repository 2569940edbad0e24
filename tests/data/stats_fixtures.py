#!/usr/bin/env python3
"""Generates tests/data/stats_fixtures.json: scipy's answers for `chi2_test` and `anova_oneway`.

The Rust tests in warehouse/src/stats.rs load the JSON, put each case's raw rows in a
DataFusion table, run the SQL aggregate and compare every field to scipy at 1e-9 relative
tolerance. Re-run after changing a case:

    pip install scipy numpy
    python3 tests/data/stats_fixtures.py

The output is deterministic for a given numpy / scipy version (fixed seed; both versions are
recorded in the JSON).

Two precautions keep the reference trustworthy:

- Every ANOVA value is rounded to 15 significant digits before use, so its shortest decimal
  form has at most 15 digits and any JSON parser (serde_json's fast path included) reads back
  exactly the double scipy saw.
- The ANOVA sums of squares are also computed exactly with rational arithmetic
  (`fractions.Fraction`), and the script fails if scipy's F differs from the exact F by more
  than 1e-12 relative; eta squared is taken from the exact sums.

One case (`3_groups_huge_f`) is ill-conditioned on purpose: the groups are so far apart that
`f_oneway`, which gets SS_within as SS_total - SS_between, loses about 8 digits to
cancellation. Its expected F is the exact F and its p-value is scipy's F survival function
`scipy.special.fdtrc` at that F (what `f_oneway` itself calls); `f_oneway`'s own answer is
kept beside it under `scipy_f_oneway` for every case.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import scipy
from scipy import special, stats

SEED = 20240701
OUT = Path(__file__).with_name("stats_fixtures.json")

rng = np.random.default_rng(SEED)


# --- chi-square test of independence -------------------------------------------------------


def rows_from_table(table, a_labels, b_labels):
    """One (a, b) row per observation, shuffled so batches do not follow the table order."""
    rows = []
    for i, a in enumerate(a_labels):
        for j, b in enumerate(b_labels):
            rows.extend([[a, b]] * int(table[i][j]))
    order = rng.permutation(len(rows))
    return [rows[k] for k in order]


def table_from_rows(rows):
    """The contingency table scipy sees: categories in first-seen order, zero cells kept."""
    a_labels = list(dict.fromkeys(r[0] for r in rows))
    b_labels = list(dict.fromkeys(r[1] for r in rows))
    table = np.zeros((len(a_labels), len(b_labels)), dtype=np.int64)
    for a, b in rows:
        table[a_labels.index(a), b_labels.index(b)] += 1
    return table


def chi2_case(name, description, table, a_labels=None, b_labels=None):
    table = np.asarray(table, dtype=np.int64)
    r, c = table.shape
    a_labels = a_labels or [f"a{i}" for i in range(r)]
    b_labels = b_labels or [f"b{j}" for j in range(c)]
    rows = rows_from_table(table, a_labels, b_labels)
    observed = table_from_rows(rows)
    res = stats.chi2_contingency(observed, correction=False)
    n = int(observed.sum())
    k = min(observed.shape)
    chi2 = float(res.statistic)
    expected = np.asarray(res.expected_freq, dtype=float)
    return {
        "name": name,
        "description": description,
        "table": observed.tolist(),
        "rows": rows,
        "expected": {
            "chi2": chi2,
            "dof": int(res.dof),
            "p_value": float(res.pvalue),
            "cramers_v": math.sqrt(chi2 / (n * (k - 1))),
            "n": n,
            "min_expected": float(expected.min()),
            "cells_below_5": int((expected < 5).sum()),
        },
    }


def random_table(r, c, n, dependence=0.0):
    """A multinomial table; `dependence` > 0 tilts the diagonal so a and b are associated."""
    row_p = rng.dirichlet(np.full(r, 3.0))
    col_p = rng.dirichlet(np.full(c, 3.0))
    p = np.outer(row_p, col_p)
    for i in range(min(r, c)):
        p[i, i] *= 1.0 + dependence
    p /= p.sum()
    return rng.multinomial(n, p.ravel()).reshape(r, c)


def chi2_cases():
    return [
        chi2_case("2x2_balanced", "2x2, n=200, mild association", random_table(2, 2, 200, 0.4)),
        chi2_case(
            "2x2_small_expected",
            "2x2, n=22, expected counts below 5",
            [[8, 1], [3, 10]],
        ),
        chi2_case("3x3_independent", "3x3, n=300, independent", random_table(3, 3, 300)),
        chi2_case("3x4_imbalanced", "3x4, skewed margins", [[120, 30, 8, 2], [40, 15, 4, 1], [9, 3, 2, 6]]),
        chi2_case(
            "4x3_sparse",
            "4x3, n=60, several cells with expected < 5",
            random_table(4, 3, 60, 0.8),
        ),
        chi2_case("5x5_random", "5x5, n=800", random_table(5, 5, 800, 0.15)),
        chi2_case("6x5_strong", "6x5, n=1500, strong association (p ~ 1e-60 or smaller)", random_table(6, 5, 1500, 2.5)),
        chi2_case(
            "2x2_extreme_p",
            "2x2, n=1020, near-perfect association: p far below 1e-30",
            [[500, 10], [10, 500]],
        ),
        chi2_case(
            "2x3_p_1e-30",
            "2x3, p-value around 1e-30",
            [[150, 60, 30], [40, 80, 140]],
        ),
        chi2_case(
            "2x5_integer_labels",
            "2x5 with integer categories (the SQL columns are Int64, cast to text)",
            random_table(2, 5, 400, 0.3),
            a_labels=[1, 2],
            b_labels=[10, 20, 30, 40, 50],
        ),
        chi2_case("6x2_tall", "6x2, n=500", random_table(6, 2, 500, 0.5)),
        chi2_case("3x2_large_counts", "3x2, n=6000, weak association", random_table(3, 2, 6000, 0.05)),
        chi2_case(
            "4x4_zero_cells",
            "4x4 with observed zero cells (kept in the table)",
            [[30, 0, 5, 0], [0, 25, 0, 4], [6, 0, 20, 1], [0, 3, 2, 12]],
        ),
    ]


# --- one-way ANOVA --------------------------------------------------------------------------


def q15(x: float) -> float:
    """Round to 15 significant digits so the decimal in the JSON reads back exactly."""
    return float(f"{x:.15g}")


def exact_anova(groups):
    """SS_between, SS_within, SS_total as exact rationals of the (double) inputs."""
    data = [[Fraction(v) for v in g] for g in groups]
    n = sum(len(g) for g in data)
    grand = sum(sum(g) for g in data) / n
    ss_between = sum(len(g) * (sum(g) / len(g) - grand) ** 2 for g in data)
    ss_within = sum(sum((v - sum(g) / len(g)) ** 2 for v in g) for g in data)
    return ss_between, ss_within, ss_between + ss_within


def anova_case(name, description, groups, integer_values=False, ill_conditioned=False):
    groups = [[q15(float(v)) for v in g] for g in groups]
    labels = [f"g{i}" for i in range(len(groups))]
    rows = [[labels[i], v] for i, g in enumerate(groups) for v in g]
    rows = [rows[k] for k in rng.permutation(len(rows))]
    if integer_values:
        rows = [[g, int(v)] for g, v in rows]
    res = stats.f_oneway(*[np.asarray(g) for g in groups])
    ss_b, ss_w, ss_t = exact_anova(groups)
    k = len(groups)
    n = sum(len(g) for g in groups)
    df_b, df_w = k - 1, n - k
    exact_f = (ss_b / df_b) / (ss_w / df_w)
    f, p = float(res.statistic), float(res.pvalue)
    drift = abs(f - float(exact_f)) / float(exact_f)
    if ill_conditioned:
        assert drift > 1e-12, f"{name}: expected f_oneway to lose digits here"
        f = float(exact_f)
        p = float(special.fdtrc(df_b, df_w, f))
    else:
        assert drift < 1e-12, f"{name}: scipy F {f} vs exact {float(exact_f)} (rel {drift:.2e})"
    return {
        "name": name,
        "description": description,
        "group_sizes": [len(g) for g in groups],
        "rows": rows,
        "scipy_f_oneway": {"f": float(res.statistic), "p_value": float(res.pvalue)},
        "expected": {
            "f": f,
            "df_between": df_b,
            "df_within": df_w,
            "p_value": p,
            "eta_squared": float(ss_b / ss_t),
        },
    }


def normal_groups(sizes, means, sds):
    return [rng.normal(m, s, size=n).tolist() for n, m, s in zip(sizes, means, sds)]


def anova_cases():
    return [
        anova_case("2_groups", "2 groups, sizes 10 and 12", normal_groups([10, 12], [5.0, 6.0], [1.0, 1.2])),
        anova_case("3_groups_equal", "3 groups of 20", normal_groups([20, 20, 20], [0.0, 0.3, 0.6], [1, 1, 1])),
        anova_case("4_groups_varied_sizes", "4 groups, sizes 3..40", normal_groups([3, 17, 40, 8], [10, 11, 10.5, 12], [2, 2, 2, 2])),
        anova_case(
            "5_groups_large_offset",
            "5 groups around 1e6 + x, small mean differences",
            normal_groups([12, 15, 9, 20, 14], [1e6, 1e6 + 0.5, 1e6 + 0.2, 1e6 + 1.0, 1e6], [1, 1, 1, 1, 1]),
        ),
        anova_case(
            "8_groups_mixed_scales",
            "8 groups, sizes 2..30, different spreads",
            normal_groups(
                [2, 30, 5, 11, 7, 25, 3, 16],
                [100, 102, 98, 101, 105, 99, 100, 103],
                [0.5, 5, 2, 8, 1, 3, 4, 6],
            ),
        ),
        anova_case(
            "group_of_one",
            "3 groups, one of them a single value",
            normal_groups([1, 9, 14], [3.0, 2.0, 2.5], [1, 1, 1]),
        ),
        anova_case(
            "6_groups_tiny_p",
            "6 groups with large separation: p-value far below 1e-30",
            normal_groups([15, 15, 15, 15, 15, 15], [0, 10, 20, 30, 40, 50], [1, 1, 1, 1, 1, 1]),
        ),
        anova_case(
            "3_groups_1e9_offset",
            "3 groups around 1e9 + x",
            normal_groups([25, 30, 20], [1e9, 1e9 + 0.4, 1e9 - 0.1], [1, 1, 1]),
        ),
        anova_case(
            "7_groups_null",
            "7 groups from the same distribution",
            normal_groups([10, 13, 8, 21, 6, 15, 11], [50] * 7, [10] * 7),
        ),
        anova_case(
            "4_groups_integer_values",
            "4 groups of integer scores (the SQL column is Int64)",
            [rng.integers(low, low + 40, size=n).tolist() for n, low in [(18, 60), (22, 65), (15, 55), (30, 70)]],
            integer_values=True,
        ),
        anova_case(
            "2_groups_negative_wide",
            "2 groups with negative values and a wide range",
            normal_groups([40, 35], [-1e4, -9.9e3], [300, 500]),
        ),
        anova_case(
            "3_groups_huge_f",
            "3 groups 1e4 apart with unit spread: F ~ 1e9, p ~ 1e-80 (f_oneway loses digits)",
            normal_groups([7, 8, 8], [0, 1e4, 2e4], [1, 1, 1]),
            ill_conditioned=True,
        ),
    ]


def main():
    fixtures = {
        "generator": "tests/data/stats_fixtures.py",
        "seed": SEED,
        "scipy_version": scipy.__version__,
        "numpy_version": np.__version__,
        "chi2": chi2_cases(),
        "anova": anova_cases(),
    }
    OUT.write_text(json.dumps(fixtures, separators=(",", ":")) + "\n")
    for c in fixtures["chi2"]:
        e = c["expected"]
        print(f"chi2  {c['name']:24} n={e['n']:5} chi2={e['chi2']:.6g} dof={e['dof']} p={e['p_value']:.3e} "
              f"min_exp={e['min_expected']:.3g} below5={e['cells_below_5']}")
    for c in fixtures["anova"]:
        e = c["expected"]
        print(f"anova {c['name']:24} F={e['f']:.6g} df=({e['df_between']},{e['df_within']}) "
              f"p={e['p_value']:.3e} eta2={e['eta_squared']:.4f}")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()

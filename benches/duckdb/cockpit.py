"""The DuckDB side of the cockpit benchmark (`benches/cockpit.rs`).

Reads a job file written by the Rust side (argv[1]) — the active Parquet files of the
Delta `events` table, the rendered SQL of every view and model (parameters already
substituted), how many timed runs, and per model the columns to fingerprint — and prints
one JSON object on stdout: per model its best and median time in ms, its row count and its
fingerprint (or the error).

The DataFusion SQL runs in DuckDB with a small, mechanical translation, all of it here:

- `events` is a view over `read_parquet([...])` of exactly the files the Delta log lists;
  `month` (the partition column) lives in the directory name `month=YYYY-MM`, not in the
  files, so it comes from hive partitioning, typed VARCHAR.
- Session settings instead of SQL edits: `TimeZone = 'UTC'` (DataFusion's timestamps are
  UTC; DuckDB would cast TIMESTAMPTZ to DATE in the local zone), `integer_division = true`
  (DataFusion's `/` on integers truncates, DuckDB's gives a DOUBLE otherwise).
- Macros for the functions DuckDB spells differently: `json_get_str / _int / _float`
  (datafusion-functions-json) over `json_extract_string` / `json_extract`, and `to_char`
  (DataFusion's chrono format) as `strftime`.
- Our aggregates `chi2_test(a, b)` and `anova_oneway(group, value)` have no DuckDB
  counterpart. Each is a macro that aggregates natively with `histogram` (the contingency
  table of (a, b); the count of each (group, value) pair) and hands that small map to a
  Python UDF that computes the same statistics as warehouse/src/stats.rs. The rows are
  counted in C++; only the distinct pairs cross into Python (a few hundred to a few
  thousand per group: the quiz scores take few distinct values).

The only edit of the SQL text itself: the CTE name `asof` is quoted (a keyword in DuckDB).

Every model is also created as a view named after it (as the warehouse does), since
`rate_spread` reads `attendance_rates` and `dues_monthly`.
"""

import json
import math
import re
import statistics
import sys
import time

import duckdb

MACROS = [
    # datafusion-functions-json: NULL when the key is missing or of another JSON type.
    # (json_get_str is NULL for a non-string value; the payload fields read with it are
    # always strings, which the fingerprint check would catch otherwise.)
    """CREATE MACRO json_get_str(j, k) AS json_extract_string(j, '$."' || k || '"')""",
    """CREATE MACRO json_get_int(j, k) AS
         TRY_CAST(json_extract(j, '$."' || k || '"') AS BIGINT)""",
    """CREATE MACRO json_get_float(j, k) AS
         TRY_CAST(json_extract(j, '$."' || k || '"') AS DOUBLE)""",
    """CREATE MACRO json_get_json(j, k) AS CAST(json_extract(j, '$."' || k || '"') AS VARCHAR)""",
    "CREATE MACRO to_char(x, f) AS strftime(x, f)",
    "CREATE MACRO to_unixtime(ts) AS CAST(floor(epoch(CAST(ts AS TIMESTAMPTZ))) AS BIGINT)",
    # warehouse/src/calendar.rs: the date in China Standard Time (UTC+8 all year), and n
    # calendar months later with the day clipped to a shorter month (as DuckDB's interval
    # arithmetic does: 2025-08-31 + 6 months = 2026-02-28).
    "CREATE MACRO china_date(ts) AS CAST(ts + INTERVAL 8 HOUR AS DATE)",
    "CREATE MACRO add_months(d, n) AS CAST(d + to_months(CAST(n AS INTEGER)) AS DATE)",
    # The contingency table: one key per (a, b) pair with both non-NULL, compared as text.
    """CREATE MACRO chi2_test(a, b) AS
         chi2_finish(histogram(CAST(a AS VARCHAR) || chr(31) || CAST(b AS VARCHAR)))""",
    # The count of each (group, value) pair with a finite value.
    """CREATE MACRO anova_oneway(g, x) AS
         anova_finish(histogram(CASE WHEN g IS NOT NULL AND isfinite(CAST(x AS DOUBLE))
                                     THEN struct_pack(g := CAST(g AS VARCHAR), x := CAST(x AS DOUBLE)) END))""",
]

CHI2_TYPE = (
    "STRUCT(chi2 DOUBLE, dof BIGINT, p_value DOUBLE, cramers_v DOUBLE, n BIGINT, "
    "min_expected DOUBLE, cells_below_5 BIGINT)"
)
ANOVA_TYPE = (
    "STRUCT(f DOUBLE, df_between BIGINT, df_within BIGINT, p_value DOUBLE, eta_squared DOUBLE)"
)


def _gamma_q(a, x):
    """Regularized upper incomplete gamma Q(a, x) (Numerical Recipes' gammq)."""
    if x <= 0:
        return 1.0
    gln = math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        ap = a
        for _ in range(10000):
            ap += 1
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return max(0.0, 1.0 - total * math.exp(-x + a * math.log(x) - gln))
    b = x + 1 - a
    c = 1 / 1e-300
    d = 1 / b
    h = d
    for i in range(1, 10000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = 1e-300 if abs(d) < 1e-300 else d
        c = b + an / c
        c = 1e-300 if abs(c) < 1e-300 else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-16:
            break
    return math.exp(-x + a * math.log(x) - gln) * h


def _beta_inc(a, b, x):
    """Regularized incomplete beta I_x(a, b) (Numerical Recipes' betai)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0

    def cf(a, b, x):
        qab, qap, qam = a + b, a + 1, a - 1
        c, d = 1.0, 1 - qab * x / qap
        d = 1 / (1e-300 if abs(d) < 1e-300 else d)
        h = d
        for m in range(1, 10000):
            m2 = 2 * m
            aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d
            d = 1 / (1e-300 if abs(d) < 1e-300 else d)
            c = 1 + aa / c
            c = 1e-300 if abs(c) < 1e-300 else c
            h *= d * c
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d
            d = 1 / (1e-300 if abs(d) < 1e-300 else d)
            c = 1 + aa / c
            c = 1e-300 if abs(c) < 1e-300 else c
            delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-16:
                break
        return h

    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1 - x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(lbt) * cf(a, b, x) / a
    return 1 - math.exp(lbt) * cf(b, a, 1 - x) / b


def chi2_finish(cells):
    """chi2_test's result from {"a\\x1fb": count}, as warehouse/src/stats.rs computes it."""
    if not cells:
        return None
    rows, cols = {}, {}
    for key, count in cells.items():
        a, b = key.split("\x1f", 1)
        rows[a] = rows.get(a, 0) + count
        cols[b] = cols.get(b, 0) + count
    n = sum(rows.values())
    chi2 = 0.0
    for a, ra in rows.items():
        for b, cb in cols.items():
            expected = ra * cb / n
            observed = cells.get(a + "\x1f" + b, 0)
            chi2 += (observed - expected) ** 2 / expected
    r, c = len(rows), len(cols)
    min_expected = min(rows.values()) * min(cols.values()) / n
    cells_below_5 = sum(1 for ra in rows.values() for cb in cols.values() if ra * cb < 5 * n)
    dof = (r - 1) * (c - 1)
    result = {"chi2": None, "dof": dof, "p_value": None, "cramers_v": None, "n": n,
              "min_expected": min_expected, "cells_below_5": cells_below_5}
    if r >= 2 and c >= 2 and math.isfinite(chi2):
        result["chi2"] = chi2
        result["p_value"] = min(1.0, max(0.0, _gamma_q(dof / 2, chi2 / 2)))
        result["cramers_v"] = math.sqrt(chi2 / (n * (min(r, c) - 1)))
    return result


def anova_finish(pairs):
    """anova_oneway's result from the count of each (group, value) pair."""
    if not pairs or not pairs["key"]:
        return None
    groups = {}
    for key, count in zip(pairs["key"], pairs["value"]):
        groups.setdefault(key["g"], []).append((key["x"], count))
    stats = []
    for values in groups.values():
        n = sum(c for _, c in values)
        mean = sum(x * c for x, c in values) / n
        m2 = sum(c * (x - mean) ** 2 for x, c in values)
        stats.append((n, mean, m2))
    total = sum(n for n, _, _ in stats)
    grand = sum(n * mean for n, mean, _ in stats) / total
    ss_between = sum(n * (mean - grand) ** 2 for n, mean, _ in stats)
    ss_within = sum(m2 for _, _, m2 in stats)
    df_between, df_within = len(stats) - 1, total - len(stats)
    result = {"f": None, "df_between": df_between, "df_within": df_within,
              "p_value": None, "eta_squared": None}
    ss_total = ss_between + ss_within
    if ss_total > 0:
        result["eta_squared"] = ss_between / ss_total
    if df_between > 0 and df_within > 0 and ss_within > 0:
        f = (ss_between / df_between) / (ss_within / df_within)
        result["f"] = f
        result["p_value"] = _beta_inc(df_within / 2, df_between / 2, df_within / (df_within + df_between * f))
    return result


def translate(sql):
    """The textual changes: `asof` (a CTE name in several models) is a keyword in DuckDB;
    DataFusion's ordered aggregates `first_value(x ORDER BY …)` / `last_value(x ORDER BY …)`
    (the ORDER BY inside the parentheses, not a window's OVER) are DuckDB's `first` / `last`;
    `FROM (small) s RIGHT ANTI JOIN t x ON …` (live_events) is DuckDB's
    `FROM t x ANTI JOIN (small) s ON …`, which has no RIGHT ANTI JOIN."""
    sql = re.sub(r"\basof\b", '"asof"', sql)
    sql = re.sub(r"FROM \(([^()]*)\)\s+(\w+)\s+RIGHT ANTI JOIN\s+(\w+)\s+(\w+)\s+ON\b",
                 r"FROM \3 \4 ANTI JOIN (\1) \2 ON", sql)
    return re.sub(r"\b(first|last)_value\(([^()]*\bORDER BY\b[^()]*)\)", r"\1(\2)", sql)


def connect(job):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET integer_division = true")
    if job.get("threads"):
        con.execute(f"SET threads = {int(job['threads'])}")
    con.create_function("chi2_finish", chi2_finish, ["MAP(VARCHAR, BIGINT)"], CHI2_TYPE,
                        null_handling="special")
    con.create_function("anova_finish", anova_finish, ["MAP(STRUCT(g VARCHAR, x DOUBLE), BIGINT)"],
                        ANOVA_TYPE, null_handling="special")
    for macro in MACROS:
        con.execute(macro)
    files = ", ".join("'" + f.replace("'", "''") + "'" for f in job["files"])
    con.execute(
        f"CREATE VIEW events AS SELECT * FROM read_parquet([{files}], "
        "hive_partitioning = true, hive_types = {'month': VARCHAR})"
    )
    for view in job["views"]:
        con.execute(translate(view["sql"]))
    for model in job["models"]:
        try:
            con.execute(f"CREATE VIEW {model['name']} AS {translate(model['sql'])}")
        except duckdb.Error as e:
            model["create_error"] = str(e).splitlines()[0]
    return con


def fingerprint_sql(model):
    """count(*), then per column count(col) and, for numbers, sum(col); booleans count true."""
    parts = ["CAST(count(*) AS DOUBLE)"]
    for column in model["fingerprint"]:
        q = '"' + column["name"].replace('"', '""') + '"'
        parts.append(f"CAST(count({q}) AS DOUBLE)")
        if column["kind"] == "number":
            parts.append(f"CAST(sum(CAST({q} AS DOUBLE)) AS DOUBLE)")
        elif column["kind"] == "bool":
            parts.append(f"CAST(sum(CASE WHEN {q} THEN 1 ELSE 0 END) AS DOUBLE)")
    return f"SELECT {', '.join(parts)} FROM {model['name']}"


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    con = connect(job)
    out = {"duckdb": duckdb.__version__, "models": {}}
    if job.get("probe"):
        # The scan alone (the same query the Rust side times before the models).
        for _ in range(job.get("warmup", 1)):
            con.execute(job["probe"])
        times = []
        for _ in range(job["runs"]):
            started = time.perf_counter()
            con.execute(job["probe"])
            times.append((time.perf_counter() - started) * 1000)
        out["probe"] = {"median_ms": statistics.median(times), "best_ms": min(times)}
    for model in job["models"]:
        name = model["name"]
        if not model.get("run", True):
            continue
        if "create_error" in model:
            out["models"][name] = {"error": model["create_error"]}
            continue
        sql = f"SELECT * FROM {name}"
        try:
            # `execute` runs the query to a materialised result inside DuckDB (as
            # DataFusion's `collect` does); rows are not converted to Python objects.
            for _ in range(job.get("warmup", 1)):
                con.execute(sql)
            times = []
            for _ in range(job["runs"]):
                started = time.perf_counter()
                con.execute(sql)
                times.append((time.perf_counter() - started) * 1000)
            # No columns: DataFusion did not answer (error or time-out), nothing to compare.
            check = list(con.execute(fingerprint_sql(model)).fetchone()) if model["fingerprint"] else None
            rows = int(check[0]) if check else None
            out["models"][name] = {"best_ms": min(times), "median_ms": statistics.median(times),
                                   "rows": rows, "fingerprint": check}
        except duckdb.Error as e:
            out["models"][name] = {"error": str(e).splitlines()[0]}
        print(f"duckdb: {name} done", file=sys.stderr, flush=True)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

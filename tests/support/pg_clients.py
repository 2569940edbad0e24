"""Python clients of dangjian's Postgres wire, as analysts use them: psycopg 3 (simple and
extended protocol, parameters, a server-side cursor) and pandas `read_sql` through
SQLAlchemy (`postgresql+psycopg`). Each answer is compared with what the HTTP endpoint
(`POST /api/v1/sql`) answers the same token.

Run by the e2e test `pg::python_clients_read_what_http_answers`:

    pg_clients.py HOST PORT HTTP_URL TOKEN SCOPED_TOKEN

Prints one line per check and exits non-zero on the first difference.
"""

import json
import sys
import urllib.request

import pandas as pd
import psycopg
import sqlalchemy

HOST, PORT, URL, TOKEN, SCOPED = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]


def http(token, sql):
    """The HTTP endpoint's rows of `sql` for `token`, as lists in column order."""
    request = urllib.request.Request(
        URL + "/api/v1/sql",
        data=json.dumps({"sql": sql}).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:
        body = json.load(answer)
    names = [c["name"] for c in body["columns"]]
    return names, [[row[n] for n in names] for row in body["rows"]]


def plain(value):
    """A value as JSON would carry it (dates and decimals as the HTTP answer has them)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return round(value, 9)
    return str(value)


def same(label, wire, http_rows):
    wire = [[plain(v) for v in row] for row in wire]
    http_rows = [[plain(v) for v in row] for row in http_rows]
    if wire != http_rows:
        print(f"FAIL {label}: the wire answered {wire[:3]}… ({len(wire)} rows), "
              f"HTTP {http_rows[:3]}… ({len(http_rows)} rows)")
        sys.exit(1)
    print(f"ok   {label}: {len(wire)} rows equal")


def connect(token, **kwargs):
    return psycopg.connect(host=HOST, port=PORT, user="analyst", password=token,
                           dbname="dangjian", sslmode="disable", **kwargs)


PEOPLE = "SELECT member_id, name, org_id, stage FROM people ORDER BY member_id"

for token in (TOKEN, SCOPED):
    with connect(token, autocommit=True) as conn:
        # Simple protocol: no parameters.
        rows = conn.execute(PEOPLE).fetchall()
        names, expected = http(token, PEOPLE)
        same(f"simple protocol as {token}", rows, expected)

        # Extended protocol with a parameter.
        org = expected[0][2] if expected else "U"
        query = "SELECT member_id, name FROM people WHERE org_id = %s ORDER BY member_id"
        rows = conn.execute(query, (org,)).fetchall()
        _, expected = http(token, query.replace("%s", f"'{org}'"))
        same(f"extended protocol, a parameter, as {token}", rows, expected)

        # Prepared and run twice with different values.
        query = "SELECT count(*) FROM events WHERE org_id = %s"
        for value in (org, "no-such-org"):
            rows = conn.execute(query, (value,), prepare=True).fetchall()
            _, expected = http(token, query.replace("%s", f"'{value}'"))
            same(f"prepared statement ({value}) as {token}", rows, expected)

        # whoami: the token's name.
        (user,) = conn.execute("SELECT current_user").fetchone()
        assert user == token, f"current_user is {user!r}, not the token's name {token!r}"
        print(f"ok   current_user is {user}")

# Types as Postgres clients expect them: timestamptz, date, integers, floats, booleans,
# text; a statistics struct (chi2_test) as its JSON text.
import datetime
with connect(TOKEN, autocommit=True) as conn:
    row = conn.execute(
        "SELECT occurred_at, CAST(occurred_at AS DATE) AS day, amount_fen, score, "
        "amount_fen > 0 AS paid, event_type FROM events WHERE amount_fen IS NOT NULL "
        "ORDER BY event_id LIMIT 1").fetchone()
    kinds = [type(v).__name__ for v in row]
    assert isinstance(row[0], datetime.datetime) and row[0].tzinfo is not None, kinds
    assert type(row[1]) is datetime.date, kinds
    assert type(row[2]) is int and type(row[4]) is bool and type(row[5]) is str, kinds
    print(f"ok   types: {kinds}")
    for sql in ["SELECT chi2_test(gender, stage) AS t FROM people",
                "SELECT anova_oneway(org_id, score) AS a FROM events WHERE score IS NOT NULL"]:
        (text,) = conn.execute(sql).fetchone()
        _, expected = http(TOKEN, sql)
        wire = {k: plain(v) for k, v in json.loads(text).items()}
        want = {k: plain(v) for k, v in expected[0][0].items()}
        assert wire == want, f"{sql}: the wire answered {wire}, HTTP {want}"
        print(f"ok   {sql.split('(')[0][7:]} as JSON: {sorted(wire)}")

# A server-side cursor (DECLARE / FETCH in a transaction), read with fetchmany.
with connect(TOKEN) as conn:
    with conn.cursor(name="events_cursor") as cursor:
        cursor.execute("SELECT event_id, event_type FROM events ORDER BY event_id")
        pages, fetched = 0, []
        while True:
            page = cursor.fetchmany(50)
            if not page:
                break
            pages += 1
            fetched.extend(page)
    _, expected = http(TOKEN, "SELECT event_id, event_type FROM events ORDER BY event_id")
    same(f"server-side cursor in {pages} pages", fetched, expected)
    assert pages >= 2, "the cursor was read in one page: the test shows nothing"

# Errors keep the session: a write is refused (read-only), then a query answers.
with connect(TOKEN, autocommit=True) as conn:
    for statement, code in [("CREATE TABLE x (a int)", "25006"), ("DELETE FROM events", "25006"),
                            ("SELEC 1", "42601")]:
        try:
            conn.execute(statement)
            print(f"FAIL {statement!r} was not refused")
            sys.exit(1)
        except psycopg.Error as e:
            assert e.sqlstate == code, f"{statement!r}: SQLSTATE {e.sqlstate}, expected {code}: {e}"
            print(f"ok   {statement!r} refused with {e.sqlstate}")
    (one,) = conn.execute("SELECT 1").fetchone()
    assert one == 1
    print("ok   the session goes on after the errors")

# A cancel request (psql's Ctrl-C, psycopg's cancel()) stops a running query with 57014,
# long before the time limit, and the session goes on.
import threading
import time
with connect(TOKEN, autocommit=True) as conn:
    timer = threading.Timer(1.0, conn.cancel)
    timer.start()
    started = time.monotonic()
    try:
        conn.execute("SELECT count(*) FROM generate_series(1, 20000000000)").fetchall()
        print("FAIL the runaway query was not cancelled")
        sys.exit(1)
    except psycopg.Error as e:
        took = time.monotonic() - started
        assert e.sqlstate == "57014", f"cancelled with SQLSTATE {e.sqlstate}: {e}"
        assert took < 10, f"the cancel took {took:.1f} s"
        print(f"ok   a cancel request stops the query in {took:.1f} s with 57014")
    (two,) = conn.execute("SELECT 2").fetchone()
    assert two == 2

# A wrong token is refused.
try:
    connect("not-a-token").close()
    print("FAIL a wrong token signed in")
    sys.exit(1)
except psycopg.OperationalError as e:
    print(f"ok   a wrong token is refused: {str(e).strip().splitlines()[-1]}")

# pandas through SQLAlchemy, as in a notebook.
engine = sqlalchemy.create_engine(
    f"postgresql+psycopg://analyst:{TOKEN}@{HOST}:{PORT}/dangjian?sslmode=disable")
frame = pd.read_sql("SELECT org_id, count(*) AS n FROM people GROUP BY org_id ORDER BY org_id", engine)
_, expected = http(TOKEN, "SELECT org_id, count(*) AS n FROM people GROUP BY org_id ORDER BY org_id")
same("pandas read_sql through SQLAlchemy", frame.values.tolist(), expected)
frame = pd.read_sql(sqlalchemy.text("SELECT member_id FROM people WHERE org_id = :org ORDER BY 1"),
                    engine, params={"org": "B1"})
_, expected = http(TOKEN, "SELECT member_id FROM people WHERE org_id = 'B1' ORDER BY 1")
same("pandas read_sql with a bound parameter", frame.values.tolist(), expected)
print("all python clients agree with HTTP")

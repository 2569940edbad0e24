"""Benchmark of the Postgres wire endpoint against the HTTP SQL endpoint.

Run by hand against an already running `dangjian serve`; it is not part of CI and
`cargo bench` does not run it. It measures two things:

1. Throughput of one large result (default 100,000 rows, `--rows`), fetched three ways,
   each once after one untimed warm-up of the same query over the same path:
   - psycopg 3 over the Postgres wire, `conn.execute(sql).fetchall()` (text protocol):
     the time from execute to having every row as Python tuples;
   - HTTP JSON, `POST {url}/api/v1/sql` with `{"sql": ...}`: the time from sending the
     request to having the answer parsed with `json.loads`;
   - HTTP Arrow IPC stream, the same with `?format=arrow`: the time to download the whole
     body only (the project's Python has no pyarrow, so the stream is not decoded).
   The figures are rows/s and the ratio against the HTTP JSON figure. The script stops
   with an error when the result was cut at `sql.row_limit` / `sql.max_result_bytes`
   (JSON `truncated: true`, or the Postgres NOTICE saying so): raise those limits.
2. Latency of a small query (`SELECT org_id, name FROM orgs WHERE org_id = %s`, the id
   cycling through the first 50 org ids) from `--clients` concurrent clients (default 16)
   for `--seconds` (default 10): over the Postgres wire (one psycopg connection per
   thread, autocommit) and, side by side, over HTTP JSON (one kept-alive
   `http.client.HTTPConnection` per thread, the id inlined as a literal). It prints the
   queries, queries/s, p50, p90, p99 and max in ms and whether p99 < 20 ms (the goal).
   Failed queries are counted by SQLSTATE (Postgres) or HTTP status and error key; the
   usual one is 53000 / 429 "server busy" when `sql.max_concurrent` or
   `sql.max_concurrent_per_token` is below the client count.

How to run (from the repository root), e.g. on the demo data:

    dangjian serve ... \\
        --set sql.row_limit=200000 --set sql.max_result_bytes=1073741824 \\
        --set sql.max_concurrent=16 --set sql.max_concurrent_per_token=16
    target/py/bin/python3 benches/pg_wire.py --url http://127.0.0.1:8080 --token $ANALYST_TOKEN

The token is sent as `Authorization: Bearer <token>` over HTTP and as the password over
the Postgres wire (the user name does not matter; `--pg-user`, default "bench"). Other
options: `--pg-host` (127.0.0.1), `--pg-port` (5433), `--rows`, `--clients`, `--seconds`,
`--query` (replaces the large query; `{rows}` in it is replaced by `--rows`).
Needs psycopg 3; only the standard library otherwise.
"""

import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse

import psycopg

DEFAULT_QUERY = (
    "SELECT event_id, event_type, org_id, member_id, occurred_at, recorded_at "
    "FROM events ORDER BY event_id LIMIT {rows}"
)
SMALL_QUERY = "SELECT org_id, name FROM orgs WHERE org_id = %s"
ORG_IDS_QUERY = "SELECT org_id FROM orgs LIMIT 50"
P99_GOAL_MS = 20.0
# Pause after a failed small query, so a refused client does not spin.
FAILURE_PAUSE_S = 0.005


def size(count):
    return f"{count / 1e6:.1f} MB" if count >= 1e6 else f"{count / 1e3:.1f} kB"


def fail(message):
    print(f"\nERROR: {message}", file=sys.stderr)
    sys.exit(2)


# --- HTTP -------------------------------------------------------------------------------


class Http:
    """Where the HTTP endpoint is and how to open a connection to it."""

    def __init__(self, url, token):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            fail(f"--url must be like http://127.0.0.1:8080, not {url!r}")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.path = parts.path.rstrip("/") + "/api/v1/sql"
        self.headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
            "Accept-Encoding": "identity",
        }

    def connect(self, timeout):
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=timeout)

    def post(self, conn, sql, fmt=None):
        """Sends the query; returns (status, body bytes, content type)."""
        path = self.path + (f"?format={fmt}" if fmt else "")
        body = json.dumps({"sql": sql}).encode()
        conn.request("POST", path, body=body, headers=self.headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, data, response.getheader("Content-Type", "")


def http_error_key(status, data):
    try:
        key = json.loads(data).get("error")
    except (ValueError, AttributeError):
        key = None
    return f"HTTP {status}" + (f" {key}" if key else "")


# --- Postgres wire ---------------------------------------------------------------------


def pg_connect(args):
    return psycopg.connect(
        host=args.pg_host,
        port=args.pg_port,
        user=args.pg_user,
        password=args.token,
        autocommit=True,
        connect_timeout=10,
    )


def sqlstate_key(error):
    code = getattr(error, "sqlstate", None)
    return code if code else type(error).__name__


# --- part 1: one large result ----------------------------------------------------------


def large_pg(args, sql):
    """(rows, seconds) of the timed run; a warm-up before it."""
    cut = []

    def on_notice(diag):
        if diag.sqlstate == "01000" and "cut at" in (diag.message_primary or ""):
            cut.append(diag.message_primary)

    with pg_connect(args) as conn:
        conn.add_notice_handler(on_notice)
        conn.execute(sql).fetchall()  # warm-up
        cut.clear()
        start = time.perf_counter()
        rows = conn.execute(sql).fetchall()
        seconds = time.perf_counter() - start
    if cut:
        fail(
            f"the Postgres answer was truncated ({cut[0]}): start the server with "
            "sql.row_limit and sql.max_result_bytes above the result "
            f"(e.g. --set sql.row_limit={max(args.rows * 2, 200000)} "
            "--set sql.max_result_bytes=1073741824)"
        )
    return len(rows), seconds


def large_http(args, http_endpoint, sql, fmt):
    """(answer, body bytes, seconds) of the timed run; JSON is parsed inside the timing."""
    conn = http_endpoint.connect(timeout=600)
    try:
        for timed in (False, True):
            start = time.perf_counter()
            status, data, content_type = http_endpoint.post(conn, sql, fmt)
            answer = json.loads(data) if fmt is None and status == 200 else None
            seconds = time.perf_counter() - start
            if status != 200:
                fail(
                    f"POST {http_endpoint.path} (format={fmt or 'json'}) answered "
                    f"{status}: {data[:500].decode(errors='replace')}"
                )
            if fmt == "arrow" and "arrow" not in content_type:
                fail(f"?format=arrow answered Content-Type {content_type!r}")
            if fmt is None and answer.get("truncated"):
                fail(
                    f"the JSON answer says truncated: true at {answer.get('row_count')} "
                    "rows: start the server with sql.row_limit and sql.max_result_bytes "
                    f"above the result (e.g. --set sql.row_limit={max(args.rows * 2, 200000)} "
                    "--set sql.max_result_bytes=1073741824)"
                )
    finally:
        conn.close()
    return answer, len(data), seconds


def part_large(args, http_endpoint):
    sql = args.query.replace("{rows}", str(args.rows))
    print(f"\n1. One large result, each way once after a warm-up\n   {sql}")

    pg_rows, pg_s = large_pg(args, sql)
    answer, json_bytes, json_s = large_http(args, http_endpoint, sql, None)
    _, arrow_bytes, arrow_s = large_http(args, http_endpoint, sql, "arrow")

    json_rows = answer["row_count"]
    if len(answer.get("rows", ())) != json_rows:
        fail(f"the JSON answer has {len(answer['rows'])} rows but row_count {json_rows}")

    json_rate = json_rows / json_s
    table = [
        ("psycopg 3, Postgres wire (text)", pg_rows, f"{pg_rows:,} rows", pg_s,
         "execute + fetchall"),
        ("HTTP JSON", json_rows, f"{json_rows:,} rows, {size(json_bytes)}", json_s,
         "request + json.loads"),
        ("HTTP Arrow IPC stream", json_rows, size(arrow_bytes), arrow_s,
         "download only, not decoded (no pyarrow)"),
    ]
    print(f"   {'path':<33} {'got':>22} {'seconds':>8} {'rows/s':>11} {'vs JSON':>8}  timed")
    for name, rows, got, seconds, what in table:
        rate = rows / seconds
        print(
            f"   {name:<33} {got:>22} {seconds:>8.3f} {rate:>11,.0f} "
            f"{rate / json_rate:>7.2f}x  {what}"
        )
    print("   (Arrow rows/s counts the JSON row_count: the same query)")
    if pg_rows != json_rows:
        print(f"   WARNING: psycopg got {pg_rows:,} rows but JSON row_count is {json_rows:,}")
    if json_rows < args.rows and "{rows}" in args.query:
        print(f"   NOTE: only {json_rows:,} rows exist, fewer than --rows {args.rows:,}")
    server_ms = answer.get("elapsed_ms")
    if isinstance(server_ms, (int, float)):
        print(f"   (server-side query time of the JSON run: {server_ms:.0f} ms)")


# --- part 2: small-query latency --------------------------------------------------------


class Recorder:
    """Latencies and failures of all threads of one run."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = []
        self.failures = {}
        self.connect_failures = {}

    def add(self, latencies, failures):
        with self.lock:
            self.latencies.extend(latencies)
            for key, count in failures.items():
                self.failures[key] = self.failures.get(key, 0) + count

    def connect_failed(self, key):
        with self.lock:
            self.connect_failures[key] = self.connect_failures.get(key, 0) + 1


def pg_client(args, org_ids, offset, start_line, recorder):
    latencies, failures = [], {}
    try:
        conn = pg_connect(args)
    except psycopg.Error as error:
        recorder.connect_failed(sqlstate_key(error) + f": {error}".splitlines()[0])
        start_line.wait()
        return
    deadline = start_line.wait()
    i = offset
    try:
        while time.perf_counter() < deadline:
            org_id = org_ids[i % len(org_ids)]
            i += 1
            start = time.perf_counter()
            try:
                conn.execute(args.small_query, (org_id,) if "%s" in args.small_query else None).fetchall()
            except psycopg.Error as error:
                key = sqlstate_key(error)
                failures[key] = failures.get(key, 0) + 1
                if conn.closed:
                    try:
                        conn = pg_connect(args)
                    except psycopg.Error:
                        break
                time.sleep(FAILURE_PAUSE_S)
                continue
            latencies.append(time.perf_counter() - start)
    finally:
        conn.close()
        recorder.add(latencies, failures)


def http_client(http_endpoint, org_ids, offset, start_line, recorder):
    latencies, failures = [], {}
    queries = [
        SMALL_QUERY_TEXT[0].replace("%s", "'" + str(org_id).replace("'", "''") + "'")
        for org_id in org_ids
    ]
    conn = http_endpoint.connect(timeout=60)
    try:
        conn.connect()
    except OSError as error:
        recorder.connect_failed(f"{type(error).__name__}: {error}")
        start_line.wait()
        return
    deadline = start_line.wait()
    i = offset
    try:
        while time.perf_counter() < deadline:
            sql = queries[i % len(queries)]
            i += 1
            start = time.perf_counter()
            try:
                status, data, _ = http_endpoint.post(conn, sql)
                if status == 200:
                    json.loads(data)
            except (OSError, http.client.HTTPException) as error:
                key = type(error).__name__
                failures[key] = failures.get(key, 0) + 1
                conn.close()
                conn = http_endpoint.connect(timeout=60)
                time.sleep(FAILURE_PAUSE_S)
                continue
            if status != 200:
                key = http_error_key(status, data)
                failures[key] = failures.get(key, 0) + 1
                time.sleep(FAILURE_PAUSE_S)
                continue
            latencies.append(time.perf_counter() - start)
    finally:
        conn.close()
        recorder.add(latencies, failures)


class Start:
    """The clients connect first; the clock starts once all are ready."""

    def __init__(self, clients):
        self.ready = threading.Barrier(clients + 1)
        self.go = threading.Event()
        self.deadline = 0.0

    def wait(self):
        """Called by each client once connected; returns the deadline."""
        self.ready.wait()
        self.go.wait()
        return self.deadline


def run_clients(args, target, make_args):
    """Runs `--clients` threads of `target` for `--seconds`; returns (recorder, seconds)."""
    recorder = Recorder()
    start_line = Start(args.clients)
    threads = [
        threading.Thread(target=target, args=make_args(n, start_line, recorder))
        for n in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    start_line.ready.wait()
    start = time.perf_counter()
    start_line.deadline = start + args.seconds
    start_line.go.set()
    for thread in threads:
        thread.join()
    return recorder, time.perf_counter() - start


def percentile(sorted_values, p):
    """Nearest-rank percentile of a sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def latency_row(name, recorder, seconds):
    values = sorted(recorder.latencies)
    ms = [percentile(values, p) * 1000 for p in (50, 90, 99)]
    top = values[-1] * 1000 if values else float("nan")
    goal = "-" if not values else ("yes" if ms[2] < P99_GOAL_MS else "NO")
    return (
        f"   {name:<23} {len(values):>9,} {len(values) / seconds:>9,.0f} "
        f"{ms[0]:>7.2f} {ms[1]:>7.2f} {ms[2]:>7.2f} {top:>8.2f} {goal:>8} "
        f"{sum(recorder.failures.values()):>8,}"
    )


# The small query as the HTTP clients send it (set from --small-query).
SMALL_QUERY_TEXT = [SMALL_QUERY]


def part_small(args, http_endpoint):
    SMALL_QUERY_TEXT[0] = args.small_query
    with pg_connect(args) as conn:
        org_ids = [row[0] for row in conn.execute(ORG_IDS_QUERY).fetchall()]
    if not org_ids:
        fail("`SELECT org_id FROM orgs LIMIT 50` returned no rows")
    print(
        f"\n2. Small query, {args.clients} concurrent clients for {args.seconds:g} s each, "
        f"cycling {len(org_ids)} org ids\n   {args.small_query}"
    )

    pg, pg_s = run_clients(
        args,
        pg_client,
        lambda n, start_line, rec: (args, org_ids, n * 7, start_line, rec),
    )
    web, web_s = run_clients(
        args,
        http_client,
        lambda n, start_line, rec: (http_endpoint, org_ids, n * 7, start_line, rec),
    )

    print(
        f"   {'path':<23} {'queries':>9} {'q/s':>9} {'p50 ms':>7} {'p90 ms':>7} "
        f"{'p99 ms':>7} {'max ms':>8} {'p99<20ms':>8} {'failures':>8}"
    )
    print(latency_row("Postgres wire (psycopg)", pg, pg_s))
    print(latency_row("HTTP JSON (keep-alive)", web, web_s))

    busy = False
    for name, recorder in (("Postgres wire", pg), ("HTTP JSON", web)):
        for key, count in sorted(recorder.connect_failures.items()):
            print(f"   {name}: {count} client(s) could not connect: {key}")
        for key, count in sorted(recorder.failures.items(), key=lambda kv: -kv[1]):
            print(f"   {name} failures {key}: {count:,}")
            busy = busy or key.startswith("53") or "429" in key
    if busy:
        print(
            f"   NOTE: the server refused queries as busy: sql.max_concurrent and "
            f"sql.max_concurrent_per_token must be at least the client count ({args.clients})"
        )


# --- main -------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(
        description="Postgres wire vs HTTP SQL: large-result throughput, small-query latency."
    )
    parser.add_argument("--url", required=True, help="HTTP base, e.g. http://127.0.0.1:8080")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5433)
    parser.add_argument("--pg-user", default="bench", help="any name; the token authenticates")
    parser.add_argument("--token", required=True, help="bearer token, also the Postgres password")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the large result")
    parser.add_argument("--clients", type=int, default=16, help="concurrent small-query clients")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each latency run")
    parser.add_argument(
        "--small-query",
        default=SMALL_QUERY,
        help="the small query; `%%s` is replaced by an org id (the orgs view reads every "
        "event: on a large warehouse use a model table, e.g. "
        "\"SELECT * FROM members_by_stage WHERE org_id = %%s\")",
    )
    parser.add_argument(
        "--query", default=DEFAULT_QUERY, help="the large query; {rows} is replaced by --rows"
    )
    args = parser.parse_args()
    if args.rows < 1 or args.clients < 1 or args.seconds <= 0:
        fail("--rows and --clients must be at least 1 and --seconds above 0")

    http_endpoint = Http(args.url, args.token)
    print(
        f"pg_wire bench  {time.strftime('%Y-%m-%d %H:%M:%S %z')}  url={args.url}  "
        f"pg={args.pg_host}:{args.pg_port}  rows={args.rows:,}  clients={args.clients}  "
        f"seconds={args.seconds:g}  psycopg={psycopg.__version__}"
    )
    try:
        part_large(args, http_endpoint)
        part_small(args, http_endpoint)
    except psycopg.Error as error:
        fail(f"Postgres wire: {sqlstate_key(error)}: {error}")
    except (OSError, http.client.HTTPException) as error:
        fail(f"HTTP: {type(error).__name__}: {error}")


if __name__ == "__main__":
    main()

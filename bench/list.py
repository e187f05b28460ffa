#!/usr/bin/env python3
"""Benchmark: the list at 100,000 subscribers: export, import, the organisers' list
page and search under load, against bare psycopg and a "hello" app.

    .venv/bin/python bench/list.py --postgres URL [--count 100000]

A fresh PostgreSQL database gets ``--count`` active members. The export
(``flask subscribers export --output``) runs as its own process; its time and peak
memory are printed beside the limit: the same columns read with bare psycopg and
written with the csv module, in the same run. The list page and a search (an
admin's session) are loaded with wrk under gunicorn (``deploy/gunicorn.conf.py``, two
workers), beside the hello app (``bench/web.py``'s way). The import (``flask
subscribers import --apply``) of a tenth of ``--count`` new rows and of ``--count``
new rows is timed the same way (peak memory of both: it streams), beside bare
psycopg inserting the same rows with ``executemany``.
"""

import argparse
import csv
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.invite import free_port, fresh_postgres  # noqa: E402
from bench.web import serve, wrk  # noqa: E402

COOKIE = """
import sqlalchemy as sa
from app import create_app
from app.extensions import db
from app.organisers.models import Organiser
app = create_app()
with app.test_request_context():
    organiser = db.session.scalar(sa.select(Organiser))
    print(app.session_interface.get_signing_serializer(app).dumps(
        {"organiser_id": organiser.id, "organiser_session": organiser.session_version}))
"""


def under_load(env: dict, seconds: int = 10) -> dict[str, tuple[float, float, float]]:
    """List page and search with an admin's session: (req/s, p99 ms, hello beside it)."""
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "organisers", "add",
                    "admin@example.org", "--role", "admin"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    cookie = subprocess.run([sys.executable, "-c", COOKIE], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True).stdout.strip()
    port, hello_port = free_port(), free_port()
    servers = [serve({**env, "VERNETZER_BIND": f"127.0.0.1:{hello_port}"}, hello_port,
                     "bench.hello:app"),
               serve({**env, "VERNETZER_BIND": f"127.0.0.1:{port}"}, port)]
    base, results = f"http://127.0.0.1:{port}/organisation/verteiler", {}
    try:
        for name, url in (("list page", base), ("search", base + "?q=person4242")):
            rate, p99 = wrk(url, seconds, 16, "-H", f"Cookie: session={cookie}")
            results[name] = (rate, p99, wrk(f"http://127.0.0.1:{hello_port}/", seconds, 16)[0])
    finally:
        for server in servers:
            server.terminate()
            server.wait()
    return results


PEAK = ("import resource, runpy, sys\n"
        "sys.argv = ['flask', '--app', 'app', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('flask', run_name='__main__')\n"
        "finally:\n"
        "    print('peak', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n")


def flask(env: dict, *args: str) -> tuple[float, float]:
    """Seconds and peak MiB of ``flask --app app ARGS`` as a process of its own."""
    began = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", PEAK, *args], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if result.returncode:
        raise SystemExit(result.stderr)
    peak = next(line for line in result.stderr.splitlines() if line.startswith("peak "))
    return seconds, int(peak.split()[1]) / 1024


def bare(code: str, env: dict) -> tuple[float, float]:
    """Seconds and peak MiB of the limit: ``code`` with nothing but psycopg and csv."""
    script = ("import csv, sys, time, resource, psycopg\n"
              "began = time.perf_counter()\n" + code +
              "\nprint(time.perf_counter() - began, "
              "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n")
    output = subprocess.run([sys.executable, "-c", script], env=env, check=True,
                            capture_output=True, text=True).stdout.split()
    return float(output[0]), float(output[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", metavar="URL", required=True)
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir, fresh_postgres(args.postgres) as database:
        workdir = Path(workdir)
        env = {**os.environ, "FLASK_SECRET_KEY": secrets.token_hex(32),
               "FLASK_SQLALCHEMY_DATABASE_URI": database, "FLASK_LOG_FORMAT": "text",
               "DSN": database.replace("postgresql+psycopg://", "postgresql://")}
        subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
                       cwd=ROOT, env=env, check=True, capture_output=True)
        fill = ("with psycopg.connect(__import__('os').environ['DSN']) as db:\n"
                "    with db.cursor() as cur:\n"
                "        with cur.copy('COPY subscriber (email, name, language, status, source,"
                " hard_bounces, created_at) FROM STDIN') as copy:\n"
                f"            for n in range({args.count}):\n"
                "                copy.write_row((f'person{n}@example.org', f'Person {n}', 'de',"
                " 'active', 'import', 0, '2026-01-01 00:00+00'))\n")
        bare(fill, env)

        export_file = workdir / "export.csv"
        export = flask(env, "subscribers", "export", "--output", str(export_file))
        bare_export = bare(
            "out = open('" + str(workdir / "bare.csv") + "', 'w', newline='')\nw = csv.writer(out, delimiter=';')\n"
            "with psycopg.connect(__import__('os').environ['DSN']) as db:\n"
            "    with db.cursor(name='all') as cur:\n"
            "        cur.itersize = 1000\n"
            "        cur.execute('SELECT email, name, organisation, district, sector, language,"
            " status, source, created_at, confirmed_at, unsubscribed_at FROM subscriber"
            " ORDER BY email')\n"
            "        for row in cur:\n"
            "            w.writerow(row)\nout.close()\n", env)
        lines = sum(1 for _ in export_file.open(encoding="utf-8-sig")) - 1

        pages = under_load({**env, "WEB_CONCURRENCY": "2", "FLASK_LOG_REQUESTS": "false"})

        imports = {}
        for rows in (args.count // 10, args.count):
            import_file = workdir / f"neu{rows}.csv"
            with import_file.open("w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(["E-Mail", "Name"])
                writer.writerows([f"neu{rows}-{n}@example.org", f"Neu {n}"] for n in range(rows))
            imported = flask(env, "subscribers", "import", str(import_file), "--apply",
                             "--consent-note", "Benchmark")
            imports[rows] = imported, bare(
                f"rows = [(f'bare{rows}-{{n}}@example.org', f'Bare {{n}}') for n in range({rows})]\n"
                "with psycopg.connect(__import__('os').environ['DSN']) as db:\n"
                "    with db.cursor() as cur:\n"
                "        cur.executemany(\"INSERT INTO subscriber (email, name, language, status,"
                " source, hard_bounces, created_at) VALUES (%s, %s, 'de', 'active', 'import', 0,"
                " now())\", rows)\n", env)

    print(f"{args.count} members in PostgreSQL; each step a process of its own")
    print(f"export ({lines} rows):   {export[0]:6.1f} s, peak {export[1]:5.0f} MiB;  bare psycopg "
          f"+ csv {bare_export[0]:5.1f} s, {bare_export[1]:4.0f} MiB;  time ratio "
          f"{bare_export[0] / export[0]:.2f}")
    for rows, (imported, bare_import) in imports.items():
        print(f"import ({rows} new): {imported[0]:6.1f} s, peak {imported[1]:5.0f} MiB;  bare "
              f"executemany {bare_import[0]:5.1f} s, {bare_import[1]:4.0f} MiB;  time ratio "
              f"{bare_import[0] / imported[0]:.2f}")
    for name, (rate, p99, hello) in pages.items():
        print(f"{name} under load (wrk, 16 connections): {rate:6.0f} req/s, p99 {p99:6.1f} ms; "
              f"hello beside it {hello:6.0f} req/s; ratio {rate / hello:.2f}")


if __name__ == "__main__":
    main()

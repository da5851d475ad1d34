"""Benchmark: parse and store a generated inbox of e-mails (prints figures; target >= 200 e-mails/s on 2 cores).

Run: .venv/bin/python bench/bench_ingest.py [--n 10000] [--database-url URL]
Writes n e-mail inquiries (corpus e-mails, cycled, with threads, attachments, auto-replies and bounces) with
pipeline/inbox.py into a temp folder (not timed), then times reading, parsing, cleaning, redacting and storing
every .eml file into a fresh case store (SQLite in the temp folder unless --database-url is given), and a re-run
that stores nothing new."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pipeline.config import Settings, load_training
from pipeline.corpus import load_split
from pipeline.inbox import write_inbox
from pipeline.ingest import parse_eml, read_eml_folder, store_messages
from pipeline.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000, help="e-mail inquiries to generate")
    parser.add_argument("--database-url", default=None, help="an empty case store (default: SQLite in a temp dir)")
    args = parser.parse_args()
    corpus = load_training(Settings().config_dir).corpus_path()
    emails = [item for split in ("train", "dev", "test") for item in load_split(corpus, split) if item.channel == "email"]
    with tempfile.TemporaryDirectory() as temp:
        target = Path(temp)
        started = time.perf_counter()
        summary = write_inbox(emails, target, count=args.n, call_layouts=("a",))
        files = sorted(summary.mail_dir.glob("*.eml"))
        print(f"generated {len(files)} .eml files ({summary.emails} inquiries incl. {summary.replies} replies, "
              f"{summary.auto_replies} auto-replies, {summary.bounces} bounces, {summary.attachments} attachments; "
              f"{sum(f.stat().st_size for f in files) / 2**20:.0f} MiB) in {time.perf_counter() - started:.0f} s")

        started = time.perf_counter()
        for path in files:
            parse_eml(path.read_bytes(), source="bench", raw_ref=str(path))
        parse_s = time.perf_counter() - started

        store = open_store(args.database_url or f"sqlite:///{target / 'cases.db'}")
        started = time.perf_counter()
        report = store_messages(read_eml_folder(summary.mail_dir), store)
        ingest_s = time.perf_counter() - started
        started = time.perf_counter()
        again = store_messages(read_eml_folder(summary.mail_dir), store)
        rerun_s = time.perf_counter() - started
        store.dispose()

    print(f"parse only:             {len(files) / parse_s:6.0f} e-mails/s ({parse_s:.1f} s)")
    print(f"parse + store:          {len(files) / ingest_s:6.0f} e-mails/s ({ingest_s:.1f} s; stored {report.stored}, "
          f"skipped {report.skipped_auto_replies} auto-replies/bounces, quarantined {len(report.failed)})")
    print(f"re-run (nothing new):   {len(files) / rerun_s:6.0f} e-mails/s ({rerun_s:.1f} s; stored {again.stored})")


if __name__ == "__main__":
    main()

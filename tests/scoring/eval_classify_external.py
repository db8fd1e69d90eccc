"""External check of the shipped call classifier on calls that are never used in training.

Run: .venv/bin/python tests/scoring/eval_classify_external.py [--model DIR] [--demo-db PATH]

1. ``scoring/corpus/unseen_handwritten.jsonl`` and ``unseen_blind.jsonl``: calls written freely by
   hand (not from the phrase banks or the generator), labelled, never trained on. The first was
   looked at while v2 was built; the blind one was scored once: the honest generalisation estimate.
2. The bundled demo (``demo/scripts/*.yaml`` expected class/outcome): the scripted turns, and, with
   ``--demo-db`` (a callqa SQLite database after ``callqa demo``), the real ASR transcripts of the
   synthesised recordings. Reported only; never trained on.
Not a test: figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

import yaml
from callqa.scoring.classify import DEFAULT_CORPUS_DIR, evaluate, load_corpus, load_default_classifier
from callqa.scoring.features import CallDocument, document_from_record

REPO = Path(__file__).resolve().parents[2]
# Development check (looked at while building v2) and the blind check (scored once, for the card).
UNSEEN_FILES = (DEFAULT_CORPUS_DIR / "unseen_handwritten.jsonl", DEFAULT_CORPUS_DIR / "unseen_blind.jsonl")


def _demo_expected() -> dict[str, dict]:
    out = {}
    for path in sorted((REPO / "demo" / "scripts").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        out[spec["id"]] = {"expected": spec["expected"], "turns": spec["turns"]}
    return out


def _demo_asr(db: Path) -> dict[str, CallDocument]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    docs = {}
    for call_id, external_id in con.execute("select id, external_id from calls"):
        rows = con.execute("select role, text from transcript_segments where call_id=? order by idx", (call_id,))
        turns = [(role if role in ("manager", "client") else "unknown", text) for role, text in rows]
        docs[str(external_id)] = CallDocument(tuple(turns))
    return docs


def _report(name: str, clf, items: list[tuple[str, CallDocument, dict]]) -> None:
    hits_c = hits_o = 0
    print(f"\n{name}: {len(items)} calls")
    for call_id, doc, want in items:
        got = clf.predict_documents([doc])[0]
        ok_c, ok_o = got.call_class == want["class"], got.outcome == want["outcome"]
        hits_c += ok_c
        hits_o += ok_o
        print(f"  {call_id:28s} expected {want['class']}/{want['outcome']:9s} got {got.call_class} "
              f"({got.class_probs[got.call_class]:.2f})/{got.outcome} ({got.outcome_probs[got.outcome]:.2f})"
              f"{'' if ok_c and ok_o else '  <-- miss'}")
    print(f"  class {hits_c}/{len(items)}, outcome {hits_o}/{len(items)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--demo-db", type=Path, default=None)
    parser.add_argument("--unseen", type=Path, action="append", help="labelled JSONL (default: the shipped unseen sets)")
    parser.add_argument("--verbose", action="store_true", help="print every unseen call")
    args = parser.parse_args()
    clf = load_default_classifier(args.model)
    print(f"model: {clf.model_version}")
    for path in args.unseen or [p for p in UNSEEN_FILES if p.is_file()]:
        records = load_corpus(path)
        report = evaluate(clf, records)
        print(f"{path.name} ({report.n_calls} calls): class macro-F1 {report.call_class.macro_f1:.3f} "
              f"(accuracy {report.call_class.accuracy:.3f}, ECE {report.class_ece}); outcome macro-F1 "
              f"{report.outcome.macro_f1:.3f} (accuracy {report.outcome.accuracy:.3f}, ECE {report.outcome_ece}); "
              f"callback due exact {report.callback_due_accuracy}")
        for target in (report.call_class, report.outcome):
            print("  confusion", target.labels, target.confusion)
        if args.verbose:
            _report(f"{path.name}, per call", clf, [
                (r["id"], document_from_record(r), {"class": r["call_class"], "outcome": r["outcome"]}) for r in records])
    demo = _demo_expected()
    _report("demo scripts (scripted text)", clf, [
        (k, CallDocument(tuple((t["role"], t["text"]) for t in v["turns"])), v["expected"]) for k, v in demo.items()])
    if args.demo_db is not None:
        asr = _demo_asr(args.demo_db)
        _report("demo ASR transcripts", clf, [(k, asr[k], v["expected"]) for k, v in demo.items() if k in asr])


if __name__ == "__main__":
    main()

"""Labelled Russian call corpus (train.jsonl, heldout.jsonl) and its generator, build_corpus.py."""

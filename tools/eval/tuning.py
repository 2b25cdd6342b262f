"""Choosing the intent classifier's settings and the fallback threshold on the training data only.

Only data/nlu is used (stratified folds), never the dev set or the real complaints, so neither
choice can be tuned to the sets the evaluation reports on. The fallback threshold is read off
out-of-fold probabilities: each training message is scored by a model that never saw it, which is
how the live model meets a new caller's message.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from bot.domain.categories import category_intents
from bot.domain.text import normalize
from rasa_plugins.nlu.char_tfidf import build_pipeline
from tools.eval.datasets import training_set


@dataclass(frozen=True)
class Setting:
    C: float
    balanced: bool  # class_weight="balanced": every intent weighs the same, however many examples

    def label(self) -> str:
        return f"C={self.C:g}{' balanced' if self.balanced else ''}"


GRID = tuple(Setting(c, balanced) for balanced in (False, True) for c in (10.0, 30.0, 100.0, 300.0))
THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6)


@dataclass(frozen=True)
class CvScore:
    setting: Setting
    macro_f1: float  # the nine complaint categories, mean over folds
    spread: float  # standard deviation over folds


@dataclass(frozen=True)
class FallbackRow:
    threshold: float
    fires: float  # share of messages that would get the "which category?" buttons
    caught: float  # share of the classifier's mistakes among them
    accuracy_fired: float  # how often the best guess was right when the fallback fired
    accuracy_kept: float  # … and when it did not


def _data() -> tuple[np.ndarray, np.ndarray]:
    examples = training_set()
    texts = np.array([normalize(e.text) for e in examples], dtype=object)
    return texts, np.array([e.intent for e in examples])


def _fold_probabilities(
    setting: Setting, texts: np.ndarray, labels: np.ndarray, train: np.ndarray, test: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    model = build_pipeline(C=setting.C, balanced=setting.balanced)
    model.fit(list(texts[train]), list(labels[train]))
    return test, model.predict_proba(list(texts[test])), [str(c) for c in model.classes_]


def _out_of_fold(setting: Setting, texts: np.ndarray, labels: np.ndarray, folds: int) -> list:
    splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
    return Parallel(n_jobs=2)(
        delayed(_fold_probabilities)(setting, texts, labels, train, test)
        for train, test in splitter.split(texts, labels)
    )


def cross_validate(grid: tuple[Setting, ...] = GRID, folds: int = 5) -> list[CvScore]:
    texts, labels = _data()
    categories = category_intents()
    scores = []
    for setting in grid:
        per_fold = []
        for test, probabilities, classes in _out_of_fold(setting, texts, labels, folds):
            predicted = np.array(classes)[probabilities.argmax(axis=1)]
            per_fold.append(
                f1_score(
                    labels[test], predicted, labels=categories, average="macro", zero_division=0
                )
            )
        scores.append(CvScore(setting, float(np.mean(per_fold)), float(np.std(per_fold))))
    return scores


def fallback_table(
    setting: Setting,
    thresholds: tuple[float, ...] = THRESHOLDS,
    ambiguity: float = 0.05,
    folds: int = 5,
) -> list[FallbackRow]:
    """What Rasa's FallbackClassifier would do at each threshold, on out-of-fold probabilities.

    It fires when the top confidence is below the threshold or the top two are closer than
    `ambiguity`, the same two tests as in config.yml.
    """
    texts, labels = _data()
    top = np.zeros(len(labels))
    margin = np.zeros(len(labels))
    right = np.zeros(len(labels), dtype=bool)
    for test, probabilities, classes in _out_of_fold(setting, texts, labels, folds):
        ordered = np.sort(probabilities, axis=1)
        top[test] = ordered[:, -1]
        margin[test] = ordered[:, -1] - ordered[:, -2]
        right[test] = np.array(classes)[probabilities.argmax(axis=1)] == labels[test]
    rows = []
    for threshold in thresholds:
        fired = (top < threshold) | (margin < ambiguity)
        wrong = ~right
        rows.append(
            FallbackRow(
                threshold=threshold,
                fires=float(fired.mean()),
                caught=float((fired & wrong).sum() / max(wrong.sum(), 1)),
                accuracy_fired=float(right[fired].mean()) if fired.any() else float("nan"),
                accuracy_kept=float(right[~fired].mean()) if (~fired).any() else float("nan"),
            )
        )
    return rows

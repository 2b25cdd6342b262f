"""The scikit-learn baseline: TF-IDF over character 1–3-grams and a logistic regression."""

from __future__ import annotations

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline


class TfidfLogReg:
    def __init__(self) -> None:
        self._model: Pipeline = make_pipeline(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True),
            LogisticRegression(max_iter=2000, C=10.0),
        )

    def fit(self, texts: list[str], labels: list[str]) -> TfidfLogReg:
        self._model.fit(texts, labels)
        return self

    def predict(self, texts: list[str]) -> list[str]:
        return [str(label) for label in self._model.predict(texts)]

"""The intent model's weights stored for fast single-message scoring give the same numbers."""

import numpy as np

from rasa_plugins.nlu.char_tfidf import build_pipeline, ready_for_single_messages


def test_fortran_ordered_weights_score_exactly_as_before() -> None:
    texts = ["工程款拖了两年", "工资没发", "物业不管事", "补贴没到账", "拖欠货款", "老板跑了欠薪"]
    labels = ["arrears", "wage", "livelihood", "policy", "arrears", "wage"]
    pipeline = build_pipeline(C=30, balanced=True).fit(texts, labels)
    probe = ["镇政府欠我们工程款", "包工头不给工资"]
    before = pipeline.predict_proba(probe)
    ready_for_single_messages(pipeline)
    assert pipeline[-1].coef_.flags["F_CONTIGUOUS"]
    assert np.array_equal(pipeline.predict_proba(probe), before)

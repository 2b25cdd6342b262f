"""Reviewers' corrections as Rasa NLU training data (`version: "3.1"`), ready to add to data/.

One export for the console's download and `hotline corrections export --out FILE`. A correction
whose text copies a message of the evaluation sets (bot/review/leakage.py) is refused and
named, never written: trained on, it would make the scores lie. Phone and ID numbers were
replaced by fakes of the same shape when the correction was stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from bot.domain.clock import CHINA_TZ
from bot.nlu_data import annotate, nlu_yaml
from bot.review import corrections
from bot.review.leakage import Copy, EvalSets, default_eval_sets
from bot.store.models import NluCorrection


@dataclass(frozen=True)
class Refusal:
    correction_id: int
    intent: str
    copy: Copy

    def reason(self) -> str:
        if self.copy.exact:
            how = "与评测集消息相同"
        elif self.copy.fragment:
            how = f"整段摘自评测集消息（或包含整条评测集消息，相似度 {self.copy.score:.0f}）"
        else:
            how = f"与评测集消息近似（相似度 {self.copy.score:.0f}）"
        return f"纠正 #{self.correction_id}（{self.intent}）{how}：{self.copy.source}"


@dataclass
class Export:
    text: str = ""
    exported: list[int] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def build(rows: list[NluCorrection], eval_sets: EvalSets, now: dt.datetime) -> Export:
    """The YAML of every correction that copies no evaluation message, oldest first."""
    export = Export()
    examples: list[tuple[str, str]] = []
    for row in sorted(rows, key=lambda r: r.id):
        copied = eval_sets.copies(row.text)
        if copied is not None:
            export.refused.append(Refusal(row.id, row.intent, copied))
            continue
        examples.append((row.intent, annotate(row.text, corrections.spans_of(row))))
        export.exported.append(row.id)
    header = [
        f"控制台复核纠正导出（{now.astimezone(CHINA_TZ):%Y-%m-%d %H:%M}）：",
        f"导出 {len(export.exported)} 条；电话、身份证号已替换为同格式的虚构号码。",
    ]
    if export.refused:
        header.append(f"未导出 {len(export.refused)} 条（与评测集重复）：")
        header += [f"  {r.reason()}" for r in export.refused]
    export.text = nlu_yaml(examples, "\n".join(header))
    return export


def export_corrections(sessions: sessionmaker[Session]) -> Export:
    """Every stored correction, checked against the evaluation sets (EvalSetMissing if the
    real-complaint set is not there — an export that skipped the check would be unsafe)."""
    return build(
        corrections.listing(sessions, limit=100_000), default_eval_sets(), dt.datetime.now(dt.UTC)
    )

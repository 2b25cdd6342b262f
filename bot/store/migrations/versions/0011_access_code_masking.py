"""access codes masked where they were kept in clear; transcript scoping

The gateway recorded the filing reply (「提取码 233667」), its ticket card and the codes people typed
(「查询 LY… 233667」) as they were; from this revision on it records them masked
(bot/conversations/record.py). This revision masks the rows recorded before, by the same rules:
labelled codes in the bot's words and cards, and in a person's message the codes that follow a
ticket number, a 提取码 label, or the bot's question for the code; an access_code entity whose
span is masked loses its value. Transcript scoping needs no column (tickets and messages already
carry their sender and time). Rasa's tracker store is another database: its old events go with
the retention period (bot/privacy/tracker_retention.py). Downgrade cannot restore a code, and
does nothing.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""

import json

import sqlalchemy as sa
from alembic import op

from bot.domain.tickets import MASKED_CODE, mask_access_codes, mask_labelled_access_codes

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_MESSAGES = sa.table(
    "conversation_messages",
    sa.column("id", sa.Integer),
    sa.column("conversation_id", sa.Integer),
    sa.column("direction", sa.String),
    sa.column("text", sa.Text),
    sa.column("card", sa.Text),
    sa.column("entities", sa.Text),
)
_BATCH = 500


def upgrade() -> None:
    bind = op.get_bind()
    last_id = 0
    # Per conversation: whether the bot's latest message asked for the code (messages of
    # conversations interleave by id).
    asked: dict[int, bool] = {}
    while True:
        rows = bind.execute(
            sa.select(
                _MESSAGES.c.id,
                _MESSAGES.c.conversation_id,
                _MESSAGES.c.direction,
                _MESSAGES.c.text,
                _MESSAGES.c.card,
                _MESSAGES.c.entities,
            )
            .where(_MESSAGES.c.id > last_id)
            .order_by(_MESSAGES.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        for row in rows:
            last_id = row.id
            changes = _masked(row, asked.get(row.conversation_id, False))
            if row.direction != "in":
                asked[row.conversation_id] = "提取码" in (row.text or "")
            if changes:
                bind.execute(sa.update(_MESSAGES).where(_MESSAGES.c.id == row.id).values(**changes))


def _masked(row: sa.Row, asked: bool) -> dict[str, str]:
    """The masked columns of one message that differ from what is stored."""
    text = row.text or ""
    changes: dict[str, str] = {}
    if row.direction == "in":
        kept = mask_access_codes(text, asked=asked)
        if row.entities:
            try:
                entities = json.loads(row.entities)
            except ValueError:
                entities = None
            if isinstance(entities, list):
                masked = [_masked_entity(e, kept) for e in entities]
                if masked != entities:
                    changes["entities"] = json.dumps(masked, ensure_ascii=False)
    else:
        kept = mask_labelled_access_codes(text)
        if row.card:
            try:
                card = json.loads(row.card)
            except ValueError:
                card = None
            if isinstance(card, dict) and card.get("access_code") not in (None, MASKED_CODE):
                changes["card"] = json.dumps(
                    {**card, "access_code": MASKED_CODE}, ensure_ascii=False
                )
    if kept != text:
        changes["text"] = kept
    return changes


def _masked_entity(entity: object, kept_text: str) -> object:
    if not isinstance(entity, dict) or entity.get("entity") != "access_code":
        return entity
    start, end = entity.get("start"), entity.get("end")
    if isinstance(start, int) and isinstance(end, int) and MASKED_CODE in kept_text[start:end]:
        return {**entity, "value": MASKED_CODE}
    return entity


def downgrade() -> None:
    pass

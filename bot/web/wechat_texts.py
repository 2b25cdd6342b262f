"""Every Chinese sentence the WeChat channel says on its own (the bot's answers come from Rasa).

Kept in one module so wording is reviewed and changed in one place.
"""

from __future__ import annotations

# Appended after the numbered choices: 「1. 确认提交 2. 修改 3. 取消 — 回复数字选择」.
CHOICE_HINT = "— 回复数字选择"

# Image, voice, video, location, link …: the bot reads only text.
NOT_TEXT = "您好，智能助手目前只能看懂文字消息。请用文字描述您要反映的问题，或直接拨打12345。"

# A menu click or an event we have no menu item for.
EVENT_HINT = "您好，请直接发送文字描述您的问题，例如「我要投诉」或「查询工单」。"

# Rasa or the gateway failed: the person still gets an answer and a way on.
UNAVAILABLE = "智能助手暂时无法回复，请稍后再试，或直接拨打12345。"

# An empty text message (only spaces).
EMPTY = "请输入要咨询或反映的内容。"

# More than the gateway accepts in one message.
TOO_LONG = "单条消息最多 {limit} 个字，请分几次发送。"

"""The console's Chinese words in one place (templates hold the page texts)."""

from __future__ import annotations

# How a person reached the hotline (Ticket.channel, Conversation.channel, Handoff.channel).
CHANNEL_LABELS = {
    "web": "网页聊天",
    "wechat": "微信公众号",
    "enterprise_api": "企业一键报送",
    "rest": "直连接口",
    "chat": "聊天",
}


def channel_label(code: str | None) -> str:
    return CHANNEL_LABELS.get(code or "", code or "")


ROLE_LABELS = {
    "operator": "话务员",
    "department": "承办单位",
    "supervisor": "督办人员",
    "admin": "系统管理员",
}

AUDIT_LABELS = {
    "login": "登录",
    "login_failed": "登录失败",
    "logout": "退出登录",
    "reveal": "查看完整个人信息",
    "act": "工单操作",
    "act_refused": "工单操作被拒绝",
    "export": "导出（脱敏）",
    "export_unmasked": "导出（未脱敏）",
    "user_add": "新增用户",
    "user_unlock": "解锁用户",
    "user_disable": "停用用户",
    "user_enable": "启用用户",
    "user_password": "重置密码",
    "user_role": "修改角色/单位",
    "user_refused": "账号操作被拒绝",
    "purge": "个人信息清理",
    "takeover": "接管对话",
    "release": "交还智能助手",
    "operator_message": "人工回复",
    "reveal_refused": "查看个人信息被拒绝",
    "lookup_unlock": "解除查询锁定",
    "nlu_correction": "纠正意图",
    "export_corrections": "导出纠正（训练数据）",
    "review_refresh": "复核重新检查",
}

PROTECTED = "（身份保护）"
LOGIN_WRONG = "用户名或密码不正确。"
LOGIN_LOCKED = "登录失败次数过多，请 15 分钟后再试；急需登录可请管理员解锁。"
NOT_FOUND = "没有这张工单，或您无权查看。"
RATINGS = ("满意", "基本满意", "不满意")

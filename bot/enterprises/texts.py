"""Every Chinese sentence the enterprise API and pages say, in one place (by code)."""

from __future__ import annotations

# Error code → message. The code is the machine-readable part of {"error": {"code": ...}}.
ERRORS: dict[str, str] = {
    "malformed_json": "请求体不是有效的 JSON，请检查格式。",
    "not_an_object": "请求体应为 JSON 对象。",
    "unauthorized": "缺少或无效的 API 令牌，请在请求头 Authorization: Bearer <令牌> 中提供。",
    "forbidden": "无权进行此操作。",
    "account_suspended": (
        "该企业账号已被12345热线暂停使用，暂不能报送新的诉求或更换令牌；已报送的工单仍可查询。"
        "如有疑问请拨打12345。"
    ),
    "account_refused": (
        "该企业账号未通过12345热线核实，不能报送新的诉求；已报送的工单仍可查询。"
        "如确为本单位办理，请拨打12345说明。"
    ),
    "account_pending": (
        "企业账号核实后才能带着企业信息进入对话。核实前请使用一键报送表单，"
        "或直接进入智能助手以普通来电人身份反映。"
    ),
    "registration_limited": (
        "注册申请过于频繁，请稍后再试；急需反映问题可直接拨打12345，或进入智能助手。"
    ),
    "csrf": "页面已过期，请刷新后重新提交。",
    "not_found": "未找到该资源。",
    "ticket_not_found": "未找到该工单。",
    "method_not_allowed": "不支持的请求方式。",
    "idempotency_conflict": "同一个 Idempotency-Key 已用于内容不同的请求，请换一个新的 Key。",
    "too_large": "请求体过大（上限 64 KB），请精简描述后重试。",
    "rate_limited": "请求过于频繁，请稍后再试。",
    "unsupported_media_type": "请求体应为 application/json。",
    "nlu_unavailable": "智能分类服务暂时不可用，请指定 category 后重试，或稍后再试。",
    "server_error": "系统繁忙，请稍后再试，或直接拨打12345。",
    # field-level (422)
    "required": "缺少必填项。",
    "wrong_type": "类型不正确。",
    "unknown_field": "不支持的字段。",
    "too_long": "内容过长。",
    "name_invalid": "企业名称应为营业执照上的全称（至少4个字，含中文）。",
    "uscc_invalid": "统一社会信用代码不正确（应为18位，校验位不符）。",
    "contact_invalid": "联系人姓名应为2到50个汉字或字母。",
    "phone_invalid": "联系电话不正确，请填写手机号或带区号的座机号。",
    "description_invalid": "请用文字描述需要反映的问题（至少5个字）。",
    "district_invalid": "所属区县不正确，请填写洛阳市的区县名称，如「洛龙区」「伊川县」。",
    "amount_invalid": "金额应为大于0且不超过10亿元的数字（单位：元）。",
    "date_invalid": "日期不正确，请用 YYYY-MM-DD 或 YYYY-MM 格式，且不能晚于今天。",
    "category_invalid": "问题类别不正确，请使用接口文档列出的类别代码。",
    "idempotency_key_invalid": "Idempotency-Key 应为1到120个可见 ASCII 字符。",
    "limit_invalid": "limit 应为1到100的整数。",
    "cursor_invalid": "cursor 不正确。",
}

FIELD_LABELS: dict[str, str] = {
    "name": "企业名称",
    "uscc": "统一社会信用代码",
    "contact_name": "联系人",
    "phone": "联系电话",
    "description": "问题描述",
    "respondent": "被反映单位",
    "district": "所属区县",
    "amount": "涉及金额",
    "date": "发生日期",
    "category": "问题类别",
    "token": "API 令牌",
}

# The note kept in the ticket's history for a one-click report; an account not verified yet files
# as any caller who says which company they are: the note says so to whoever handles the ticket.
INTAKE_NOTE = "企业一键报送（{name}），当日交办"
UNVERIFIED_INTAKE_NOTE = (
    "企业一键报送（{name}），当日交办；报送账号未经12345核实，企业名称和信用代码为报送人自填"
)

# The answer to every accepted registration, whether or not the code was registered before.
REGISTRATION_PENDING = (
    "已提交，核实后通知：12345话务员将向企业核实（一般在1个工作日内），结果显示在一键报送页面上。"
    "核实前报送的诉求照常受理，作为普通企业诉求办理。"
)
UNKNOWN_RESPONDENT = "不详"

PAGES: dict[str, str] = {
    "register_title": "企业注册 · 一键报送",
    "registered": "注册申请已提交。请立即保存下面的 API 令牌——它只显示这一次，系统只保存它的摘要。",
    "registered_pending": REGISTRATION_PENDING,
    "verification_pending": (
        "账号待核实：12345话务员核实后，报送的诉求即作为贵单位的诉求办理。"
        "核实前报送的诉求照常受理，作为普通企业诉求（企业名称、信用代码为报送人自填）。"
    ),
    "verification_refused": "账号未通过核实，不能报送新的诉求；已报送的工单仍可查询。",
    "verified": "已核实",
    "report_title": "企业一键报送",
    "sign_in": "请输入企业 API 令牌登录（只需一次，登录状态保存在本浏览器）。",
    "bad_token": "令牌无效或已更换，请检查后重试。",
    "filed": "已受理，并已当日交办。",
    "filed_waiting": "已受理，将由话务员当日派单。",
    "chat_confirm_title": "以企业身份进入对话",
    "chat_confirm": "您将以下面这家企业的身份进入12345智能助手，对话中报送的诉求会带上它的登记信息"
    "（企业名称、信用代码、联系人和电话）：",
    "chat_confirm_button": "确认，进入对话",
    "chat_confirm_note": "不是贵单位的链接请不要继续；链接10分钟内有效，只能用一次。",
    "copy_button": "复制",
    "copied": "已复制",
}


def error_message(code: str, field: str | None = None) -> str:
    """The Chinese message for an error code; a field error names the field first."""
    message = ERRORS.get(code, ERRORS["server_error"])
    if field:
        return f"{FIELD_LABELS.get(field, field)}：{message}"
    return message

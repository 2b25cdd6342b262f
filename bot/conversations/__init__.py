"""The gateway's record of conversations, live takeover, message rates, the WeChat channel's rows."""

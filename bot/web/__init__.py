"""Our aiohttp web service: the citizens' chat page and its gateway to Rasa (later: enterprise API,
WeChat, operators' console)."""

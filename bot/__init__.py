"""12345 政务服务热线 智能助手: our package (domain rules, NLU components, tickets, web, CLI)."""

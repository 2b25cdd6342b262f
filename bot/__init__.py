"""12345 政务服务热线 智能助手: the service environment's package (domain rules, storage, one package
per capability, web, ops, CLI). The Rasa plug-ins are in rasa_plugins/, the tooling in tools/."""

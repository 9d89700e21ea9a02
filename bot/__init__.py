"""The bot: settings, planning, approvals, audit and the front ends (Slack, terminal, MCP)."""

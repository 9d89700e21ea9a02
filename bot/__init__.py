"""The bot: front ends (slack, terminal, mcp) over core, planning and the store; see docs/ARCHITECTURE.md."""

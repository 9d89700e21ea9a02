"""The terminal front end: a line-based chat over stdin/stdout."""

from bot.terminal.chat import Terminal, recovery_lines

__all__ = ["Terminal", "recovery_lines"]

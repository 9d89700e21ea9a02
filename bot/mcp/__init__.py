"""The MCP front end: the same tools, through the same pipeline, for MCP clients."""

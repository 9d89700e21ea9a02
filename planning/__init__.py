"""Planning: a sentence → a validated `Plan` (LLM with forced JSON, or the keyword planner)."""

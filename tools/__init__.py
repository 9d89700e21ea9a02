"""The AWS tool layer: registry, clients, resolver. Knows nothing of Slack or the LLM."""

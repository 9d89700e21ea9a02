"""The Slack front end: Bolt in Socket Mode, Block Kit rendering, approvals by button."""

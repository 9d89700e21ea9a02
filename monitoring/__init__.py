"""The monitor: batched fleet snapshots, checks, tier rules, incidents, notifications."""

"""Core: the one request pipeline, the operator-command router, approvals, recovery and the wiring.

Front ends call into this package; it calls planning, monitoring, sop, the store and the tools.
"""

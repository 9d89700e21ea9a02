"""The local AWS sandbox: a moto server on 127.0.0.1 seeded with a demo fleet, plus faults.

It is the embedded default (no AWS account needed) and what every test talks to over
real HTTP with real boto3 clients.
"""

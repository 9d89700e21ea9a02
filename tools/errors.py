"""Errors a user may see.

Why a dedicated type: every failure that reaches a person (Slack thread, terminal, MCP)
must be one short human sentence, never a traceback. Code raises ToolError with that
sentence; the registry turns AWS/botocore exceptions into it at one boundary.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError


class ToolError(Exception):
    """A failure with a message fit to show to an on-call engineer as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_CLIENT_ERROR_HINTS = {
    "UnauthorizedOperation": "AWS denied permission",
    "AccessDenied": "AWS denied permission",
    "AccessDeniedException": "AWS denied permission",
    "RequestLimitExceeded": "AWS is throttling requests (retried, still throttled); try again shortly",
    "Throttling": "AWS is throttling requests (retried, still throttled); try again shortly",
    "ThrottlingException": "AWS is throttling requests (retried, still throttled); try again shortly",
    "IncorrectInstanceState": "the instance is not in a state that allows this",
    "InvalidInstanceID.NotFound": "no such instance",
    "InvalidInstanceID.Malformed": "malformed instance id",
}


def describe_aws_error(error: BaseException, action: str) -> str:
    """One human sentence for an AWS/botocore failure while doing `action`."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "Unknown")
        detail = error.response.get("Error", {}).get("Message", "")
        hint = _CLIENT_ERROR_HINTS.get(code)
        if hint:
            return f"{action} failed: {hint} ({code}{': ' + detail if detail else ''})"
        return f"{action} failed: {code}: {detail}" if detail else f"{action} failed: {code}"
    if isinstance(error, EndpointConnectionError):
        return f"{action} failed: the AWS endpoint is unreachable ({error.kwargs.get('endpoint_url', '')})"
    if isinstance(error, NoCredentialsError):
        return f"{action} failed: no AWS credentials (set AWS_PROFILE or run with --sandbox)"
    if isinstance(error, BotoCoreError):
        return f"{action} failed: {error}"
    return f"{action} failed: {error}"

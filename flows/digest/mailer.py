"""SMTP delivery (smtplib): security none / starttls / ssl, optional login, timeouts, and the one place where SMTP
errors are classified: temporary (retry later), failed (this recipient, permanently) or a configuration error."""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

from pydantic import SecretStr

from newsmon_errors import ConfigurationError

logger = logging.getLogger(__name__)

Security = Literal["none", "starttls", "ssl"]
Outcome = Literal["sent", "temporary", "failed"]

DEFAULT_PORTS: dict[str, int] = {"none": 25, "starttls": 587, "ssl": 465}


class SMTPConfigError(ConfigurationError):
    """The SMTP settings are wrong (authentication refused, TLS unavailable or untrusted, sender refused).

    Retrying cannot help, so callers stop at once and surface it (docs/faults.md S2: no retry storm). Its message never
    holds the password.
    """


@dataclass(frozen=True, slots=True)
class SMTPConfig:
    """Where and how to deliver mail. The password is a SecretStr, so reprs and logs show it masked."""

    host: str
    port: int | None = None
    security: Security = "starttls"
    username: str | None = None
    password: SecretStr | None = field(default=None, repr=False)
    timeout: float = 30.0

    @property
    def address(self) -> str:
        """host:port, for messages."""
        return f"{self.host}:{self.port or DEFAULT_PORTS[self.security]}"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What happened to one recipient of one message."""

    recipient: str
    outcome: Outcome
    reason: str | None = None
    code: int | None = None


class Mailer:
    """One SMTP session for a batch of messages: connects on first use, logs in once, reconnects after a drop."""

    def __init__(self, config: SMTPConfig, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._config = config
        self._context = ssl_context
        self._client: smtplib.SMTP | None = None
        self._unavailable: str | None = None  # set when the server cannot be reached: the rest of the batch waits

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """QUIT politely; a server that is already gone is fine."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()

    def send(self, sender: str, recipients: Sequence[str], message: bytes) -> list[DeliveryResult]:
        """Deliver `message` (CRLF-terminated bytes) to `recipients`; one result per recipient, never raising for an
        expected SMTP outcome. Raises SMTPConfigError when the settings themselves are wrong."""
        if self._unavailable is not None:
            return [DeliveryResult(r, "temporary", self._unavailable) for r in recipients]
        try:
            client = self._connect()
        except SMTPConfigError:
            raise
        except (smtplib.SMTPException, OSError) as error:
            # Whatever the server said while we connected, nothing was sent: try again later (docs/faults.md S1, S6).
            _, reason, code = classify_error(error)
            self._unavailable = f"{self._config.address}: {reason}"
            logger.warning("SMTP server unavailable: %s", self._unavailable)
            return [DeliveryResult(r, "temporary", self._unavailable, code) for r in recipients]
        try:
            refused = client.sendmail(sender, list(recipients), message)
        except smtplib.SMTPRecipientsRefused as error:
            return [_refused(r, *error.recipients.get(r, (550, b"refused"))) for r in recipients]
        except smtplib.SMTPSenderRefused as error:
            if error.smtp_code == 552 or error.smtp_code < 500:  # message too large, or try again later
                return [_refused(r, error.smtp_code, error.smtp_error) for r in recipients]
            raise SMTPConfigError(f"{self._config.address} refused the sender {sender!r}: {_reply(error)}") from error
        except (smtplib.SMTPException, OSError) as error:
            # A drop between the end of DATA and the reply (RFC 1047) lands here too: whether the server took the
            # message is unknown, so it is retried with the same Message-ID (at most one duplicate, docs/faults.md S4).
            self._drop()
            outcome, reason, code = classify_error(error)
            return [DeliveryResult(r, outcome, reason, code) for r in recipients]
        return [_refused(r, *refused[r]) if r in refused else DeliveryResult(r, "sent", None, 250) for r in recipients]

    def _connect(self) -> smtplib.SMTP:
        if self._client is not None:
            return self._client
        config = self._config
        port = config.port or DEFAULT_PORTS[config.security]
        context = self._context or ssl.create_default_context()
        client: smtplib.SMTP
        try:
            if config.security == "ssl":
                client = smtplib.SMTP_SSL(config.host, port, timeout=config.timeout, context=context)
            else:
                client = smtplib.SMTP(config.host, port, timeout=config.timeout)
        except ssl.SSLCertVerificationError as error:
            raise SMTPConfigError(f"{config.address}: TLS certificate not trusted ({error.verify_message})") from None
        try:
            client.ehlo()
            if config.security == "starttls":
                if not client.has_extn("starttls"):
                    raise SMTPConfigError(f"{config.address} does not offer STARTTLS (NEWSMON_SMTP_SECURITY)")
                client.starttls(context=context)
                client.ehlo()
            if config.username:
                password = config.password.get_secret_value() if config.password else ""
                client.login(config.username, password)
        except smtplib.SMTPAuthenticationError as error:
            client.close()
            raise SMTPConfigError(
                f"{config.address} refused the login of user {config.username!r}: {_reply(error)}"
            ) from None
        except smtplib.SMTPNotSupportedError:
            client.close()
            raise SMTPConfigError(f"{config.address} does not offer AUTH (unset NEWSMON_SMTP_USERNAME?)") from None
        except ssl.SSLCertVerificationError as error:
            client.close()
            raise SMTPConfigError(f"{config.address}: TLS certificate not trusted ({error.verify_message})") from None
        except BaseException:
            client.close()
            raise
        self._client = client
        return client

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()


def _reply(error: smtplib.SMTPResponseException) -> str:
    text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else str(error.smtp_error)
    return f"{error.smtp_code} {' '.join(text.split())}"[:300]


def _refused(recipient: str, code: int, message: bytes | str) -> DeliveryResult:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    reason = f"{code} {' '.join(text.split())}"[:300]
    return DeliveryResult(recipient, "temporary" if 400 <= code < 500 else "failed", reason, code)


def classify_error(error: BaseException) -> tuple[Outcome, str, int | None]:
    """(outcome, short reason, SMTP code) for an smtplib or socket error: 4xx, refused, timeout, drop → temporary."""
    if isinstance(error, smtplib.SMTPResponseException):
        outcome: Outcome = "failed" if error.smtp_code >= 500 else "temporary"
        return outcome, _reply(error), error.smtp_code
    if isinstance(error, smtplib.SMTPServerDisconnected):
        # smtplib reports a read timeout (e.g. a server that never greets, docs/faults.md S6) as a disconnect.
        if isinstance(error.__context__, TimeoutError):
            return "temporary", "timed out", None
        return "temporary", "connection dropped by the server", None
    if isinstance(error, TimeoutError):
        return "temporary", "timed out", None
    if isinstance(error, ConnectionRefusedError):
        return "temporary", "connection refused", None
    if isinstance(error, socket.gaierror):
        return "temporary", f"host not found ({error.strerror})", None
    if isinstance(error, ssl.SSLError):
        return "temporary", f"TLS error ({error.reason})", None
    if isinstance(error, OSError):
        return "temporary", error.strerror or type(error).__name__, None
    return "temporary", type(error).__name__, None

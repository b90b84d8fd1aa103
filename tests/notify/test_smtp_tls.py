"""The e-mail channel's connection settings against real servers: STARTTLS with a login, implicit
TLS, and what goes wrong when the configuration and the server disagree."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from aiosmtpd.smtp import SMTP
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from meetsvc.domain.messages import ChannelName, MessageKind, OutgoingMessage
from meetsvc.notify.channels import PermanentDeliveryError, TemporaryDeliveryError
from meetsvc.notify.config import SmtpConfig
from meetsvc.notify.smtp import EmailChannel
from tests.notify.mailserver import MailServer, RecordingHandler

FROM = "no-reply@sip-mote.example.se"
LOGIN = ("meetsvc", "s3cret-smtp-password")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key."""
    folder = tmp_path_factory.mktemp("smtp-tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "smtp-password"
    path.write_text(LOGIN[1] + "\n")
    return path


@pytest_asyncio.fixture
async def starttls_server(server_tls: ssl.SSLContext) -> AsyncIterator[MailServer]:
    server = await MailServer(tls_context=server_tls, credentials=LOGIN).start()
    yield server
    await server.close()


def message(recipient: str = "kim@example.se") -> OutgoingMessage:
    return OutgoingMessage(
        id="3f0e8a52-0d55-4c3e-9d2a-5a1b7f1e2c11",
        channel=ChannelName.EMAIL,
        kind=MessageKind.INVITATION,
        recipient=recipient,
        body="Hej!\n",
        language="sv",
        created_at=datetime(2027, 6, 1, tzinfo=UTC),
        attempts=1,
        subject="Inbjudan: SIP-möte",
        sender_name="Exempelstads kommun",
    )


async def open_channel(**config: object) -> EmailChannel:
    return await asyncio.to_thread(EmailChannel.open, SmtpConfig(**config), from_address=FROM)  # type: ignore[arg-type]


async def test_starttls_with_a_login(starttls_server: MailServer, certificate, password_file: Path):
    channel = await open_channel(
        host="127.0.0.1",
        port=starttls_server.port,
        security="starttls",
        username=LOGIN[0],
        password_file=password_file,
        ca_file=certificate[0],
        timeout_seconds=30,
    )
    await channel.deliver(message())
    assert starttls_server.handler.logins == [LOGIN]
    (mail,) = starttls_server.received
    assert mail.message["Message-ID"] == "<3f0e8a52-0d55-4c3e-9d2a-5a1b7f1e2c11@sip-mote.example.se>"
    assert mail.text.splitlines() == ["Hej!"]


async def test_a_wrong_password_is_a_temporary_failure_that_names_the_setting(
    starttls_server: MailServer, certificate, tmp_path: Path
):
    wrong = tmp_path / "wrong"
    wrong.write_text("not-it")
    channel = await open_channel(
        host="127.0.0.1",
        port=starttls_server.port,
        username=LOGIN[0],
        password_file=wrong,
        ca_file=certificate[0],
        timeout_seconds=30,
    )
    with pytest.raises(TemporaryDeliveryError, match="authentication refused") as caught:
        await channel.deliver(message())
    assert "not-it" not in caught.value.reason


async def test_a_certificate_nobody_vouches_for_is_refused(starttls_server: MailServer):
    channel = await open_channel(host="127.0.0.1", port=starttls_server.port, security="starttls", timeout_seconds=30)
    with pytest.raises(TemporaryDeliveryError, match="TLS with the SMTP server failed: CERTIFICATE_VERIFY_FAILED"):
        await channel.deliver(message())
    assert starttls_server.received == []


async def test_starttls_required_but_not_offered(mail_server: MailServer):
    channel = await open_channel(host="127.0.0.1", port=mail_server.port, security="starttls", timeout_seconds=30)
    with pytest.raises(TemporaryDeliveryError, match=r"STARTTLS|extension"):
        await channel.deliver(message())
    assert mail_server.received == []


async def test_implicit_tls(server_tls: ssl.SSLContext, certificate):
    handler = RecordingHandler()
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(handler, hostname="mail.test"), "127.0.0.1", 0, ssl=server_tls
    )
    try:
        port = server.sockets[0].getsockname()[1]
        channel = await open_channel(
            host="127.0.0.1", port=port, security="tls", ca_file=certificate[0], timeout_seconds=30
        )
        await channel.deliver(message())
    finally:
        server.close()
        await server.wait_closed()
    assert len(handler.received) == 1


async def test_an_address_that_cannot_be_written_into_a_header_fails_for_good(mail_server: MailServer):
    channel = await open_channel(host="127.0.0.1", port=mail_server.port, security="none", timeout_seconds=30)
    with pytest.raises(PermanentDeliveryError, match="recipient address"):
        await channel.deliver(message("kim@example.se\r\nBcc: all@example.se"))
    assert mail_server.received == []

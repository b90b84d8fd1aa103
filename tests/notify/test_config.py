"""The [notify] section: what it accepts, what it refuses and why."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from meetsvc.notify.config import DeliverySettings, NotifySettings, SmsHttpConfig, SmtpConfig

SMTP = {"host": "smtp.example.se", "username": "meetsvc", "password": "pw"}
SMS = {"url": "https://sms.example.se/v1/messages", "token": "t", "sender": "Exempelstad"}


def test_the_defaults_keep_everything_in_the_development_outbox():
    settings = NotifySettings()
    assert (settings.email, settings.sms) == ("outbox", "outbox")
    assert settings.reminders_minutes_before == (1440, 60)
    assert settings.production_problems() == [
        'notify.email = "outbox" is for development only; use "smtp" (or "off")',
        'notify.sms = "outbox" is for development only; use "http" (or "off")',
    ]


def test_a_production_configuration():
    settings = NotifySettings.model_validate(
        {"email": "smtp", "sms": "http", "from_address": "no-reply@sip-mote.example.se", "smtp": SMTP, "sms_http": SMS}
    )
    assert settings.production_problems() == []
    assert settings.organizer_address("https://ignored.example.se") == "no-reply@sip-mote.example.se"


def test_the_organizer_address_defaults_to_no_reply_at_the_public_host():
    assert NotifySettings().organizer_address("https://sip-mote.example.se:8443/x") == "no-reply@sip-mote.example.se"


@pytest.mark.parametrize(
    "data, message",
    [
        ({"email": "smtp", "from_address": "no-reply@x.se"}, r"needs a \[notify.smtp\] table"),
        ({"email": "smtp", "smtp": SMTP}, "needs notify.from_address"),
        ({"sms": "http"}, r"needs a \[notify.sms_http\] table"),
        ({"from_address": "not an address"}, "is not an e-mail address"),
        ({"reminders_minutes_before": [60, 60]}, "listed twice"),
        ({"reminders_minutes_before": [0]}, "between 1 minute and 30 days"),
        ({"email": "sendgrid"}, "Input should be"),
        ({"smtp": {**SMTP, "security": "none"}}, "credentials are never sent unencrypted"),
        ({"smtp": {"host": "h", "password": "pw"}}, "needs notify.smtp.username"),
        ({"smtp": {"host": "h", "username": "u"}}, "exactly one of notify.smtp.password or notify.smtp.password_file"),
        ({"sms_http": {**SMS, "token_file": "/run/secrets/sms"}}, "exactly one of notify.sms_http.token"),
        ({"sms_http": {**SMS, "url": "ftp://x"}}, "must start with https://"),
        ({"sms_http": {**SMS, "sender": "A sender far too long"}}, "at most 15 characters"),
        ({"delivery": {"send_timeout_seconds": 60, "lease_seconds": 100}}, "at least twice send_timeout_seconds"),
        (
            {"delivery": {"first_retry_seconds": 600, "max_retry_seconds": 60}},
            "must not be less than first_retry_seconds",
        ),
        ({"smtp": {**SMTP, "hostname": "typo"}}, "Extra inputs are not permitted"),
    ],
)
def test_what_is_refused(data, message):
    with pytest.raises(ValidationError, match=message):
        NotifySettings.model_validate(data)


def test_reminders_are_kept_latest_first():
    assert NotifySettings(reminders_minutes_before=(60, 2880, 1440)).reminders_minutes_before == (2880, 1440, 60)


def test_secrets_do_not_show_in_repr():
    smtp = SmtpConfig(host="h", username="u", password=SecretStr("smtp-secret"))
    sms = SmsHttpConfig(url="https://x", token=SecretStr("sms-secret"), sender="X")
    assert "smtp-secret" not in repr(smtp) and "sms-secret" not in repr(sms)


def test_delivery_defaults_are_consistent():
    defaults = DeliverySettings()
    assert defaults.lease_seconds >= 2 * defaults.send_timeout_seconds


def test_a_lease_is_no_longer_than_the_send_it_guards_unless_set():
    # A message whose sender died waits out the lease before another process sends it.
    assert DeliverySettings().lease_seconds == 2 * DeliverySettings().send_timeout_seconds == 60
    assert DeliverySettings(send_timeout_seconds=10).lease_seconds == 20
    assert DeliverySettings.model_validate({"send_timeout_seconds": "10"}).lease_seconds == 20  # from the environment
    assert DeliverySettings(send_timeout_seconds=10, lease_seconds=45).lease_seconds == 45

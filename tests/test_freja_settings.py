"""Freja eID settings: off by default, real Freja needs its four files, the simulator only in
development, and which organisations' participants are offered it."""

from __future__ import annotations

from pathlib import Path

import pytest

from meetsvc.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]
DEV = 'environment = "development"\n[identity]\nprovider = "bankid-simulator"\n'


def load(tmp_path: Path, text: str):
    path = tmp_path / "meetsvc.toml"
    path.write_text(text)
    return load_settings(path, environ={})


def test_freja_is_off_unless_enabled_and_make_run_enables_its_simulator(tmp_path):
    assert load(tmp_path, DEV).freja.enabled is False
    development = load_settings(ROOT / "config" / "development.toml", environ={})
    assert (development.freja.enabled, development.freja.use_simulator) == (True, True)
    assert development.freja_simulator.app_port == 8082
    assert load_settings(ROOT / "config" / "production.example.toml", environ={}).freja.enabled is False


def test_real_freja_needs_its_certificates_and_signing_certificate(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, DEV + '[freja]\nenabled = true\nclient_cert = "/c.pem"\n')
    message = str(caught.value)
    assert all(f"freja.{key}" in message for key in ("client_key", "ca_cert", "signing_cert"))
    assert "freja.client_cert" not in message


def test_the_freja_simulator_is_refused_in_production(tmp_path):
    production = (
        'environment = "production"\n[server]\npublic_url = "https://meet.example.se"\n'
        '[bankid]\nclient_cert = "c"\nclient_key = "k"\nca_cert = "a"\n'
        '[notify]\nemail = "off"\nsms = "off"\n[freja]\nenabled = true\nuse_simulator = true\n'
    )
    with pytest.raises(ConfigError, match=r"freja\.use_simulator = true is for development only"):
        load(tmp_path, production)


@pytest.mark.parametrize("text", ['url = "http://services.test.frejaeid.com"', 'min_registration_level = "BASIC"'])
def test_plain_http_and_the_basic_level_are_refused(tmp_path, text):
    with pytest.raises(ConfigError):
        load(tmp_path, DEV + f"[freja]\n{text}\n")


def test_participants_are_offered_freja_by_their_organisation(tmp_path):
    every = load(tmp_path, DEV + "[freja]\nenabled = true\nuse_simulator = true\n").freja
    assert every.offered_to("any-organisation")
    some = load(tmp_path, DEV + '[freja]\nenabled = true\nuse_simulator = true\norganisations = ["a"]\n').freja
    assert some.offered_to("a") and not some.offered_to("b")
    assert not load(tmp_path, DEV + '[freja]\norganisations = ["a"]\n').freja.offered_to("a")

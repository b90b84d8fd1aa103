"""`make run` on an empty `var/`: it says what it did, prints where to go and the demo meeting's
links, and nothing else at INFO; the start page lists the same links; a later start finds the
same demo again; the demo can be turned off, and never runs in production."""

from __future__ import annotations

import re
import urllib.request

import pytest

from meetsvc.config import ConfigError, load_settings
from tests.support.make_run import make_run
from tests.support.timing import WAIT_SECONDS


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=WAIT_SECONDS) as response:  # noqa: S310  # our own loopback service
        return str(response.read().decode("utf-8"))


def test_make_run_on_an_empty_var_prints_the_demo_and_nothing_else(tmp_path):
    var = tmp_path / "var"
    with make_run(var) as first:
        links = first.participant_links()
        start_page = get(first.base_url + "/")
        console = first.host_console
    assert "created the database schema (revision " in first.stdout
    assert "A demo meeting starts at " in first.stdout and "its waiting room is open now" in first.stdout
    assert "as Erik Lindqvist (or the co-host Karin Johansson)" in first.stdout
    assert set(links) == {"Mohammed Al-Rashid", "Per-Olof Öberg", "Amina Yusuf"}
    assert first.address("BankID simulator").startswith("http://127.0.0.1:" + first.env["MEETSVC_SIMULATOR__APP_PORT"])
    freja_port = first.env["MEETSVC_FREJA_SIMULATOR__APP_PORT"]
    assert first.address("Freja simulator").startswith("http://127.0.0.1:" + freja_port)
    assert re.fullmatch(re.escape(first.base_url) + r"/staff/meetings/[0-9a-f-]{36}", console)
    # Nothing at INFO but the banner: no library announcing its plugins or its jobs.
    chatter = [line for line in first.lines if re.search(r"\b(INFO|DEBUG)\b", line) and "meetsvc.schedule" not in line]
    assert chatter == [], "\n".join(chatter)
    assert "setup plugin" not in first.stdout and "apscheduler" not in first.stdout
    # The start page lists the same links (development only).
    for url in links.values():
        assert f'href="{url}"' in start_page
    assert console.removeprefix(first.base_url) in start_page

    with make_run(var) as second:
        again = {name: url.removeprefix(second.base_url) for name, url in second.participant_links().items()}
    assert "the database schema is already up to date (revision " in second.stdout
    assert again == {name: url.removeprefix(first.base_url) for name, url in links.items()}, (
        "a later start shows the same demo meeting"
    )


def test_the_demo_can_be_turned_off(tmp_path):
    with make_run(tmp_path / "var") as started:
        assert started.participant_links()
    with make_run(tmp_path / "other", MEETSVC_DEMO__SEED="false") as started:
        assert "demo" not in started.stdout.lower() and not started.participant_links()
        assert "/j/" not in get(started.base_url + "/")


def test_the_demo_is_refused_in_production(tmp_path):
    config = tmp_path / "meetsvc.toml"
    config.write_text('environment = "development"\n[identity]\nprovider = "bankid-simulator"\n[demo]\nseed = true\n')
    assert load_settings(config, environ={}).demo.seed
    config.write_text(
        'environment = "production"\n[server]\npublic_url = "https://meet.example.se"\n'
        '[bankid]\nclient_cert = "c"\nclient_key = "k"\nca_cert = "a"\n'
        '[notify]\nemail = "off"\nsms = "off"\n[demo]\nseed = true\n'
    )
    with pytest.raises(ConfigError, match=r"demo\.seed is for development only"):
        load_settings(config, environ={})

"""docs/notifications.md keeps up with the code: every configuration key, every template value,
and its example configuration is one the service accepts."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel

from meetsvc.notify.config import DeliverySettings, NotifySettings, SmsHttpConfig, SmtpConfig
from meetsvc.notify.texts import VARIABLES

DOC = (Path(__file__).resolve().parents[2] / "docs" / "notifications.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "table, model",
    [
        ("notify", NotifySettings),
        ("notify.delivery", DeliverySettings),
        ("notify.smtp", SmtpConfig),
        ("notify.sms_http", SmsHttpConfig),
    ],
)
def test_every_key_is_documented_under_its_table(table: str, model: type[BaseModel]) -> None:
    section = DOC.split(f"### `[{table}]`", 1)
    assert len(section) == 2, f"docs/notifications.md has no section for [{table}]"
    body = section[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    missing = [key for key in model.model_fields if f"`{key}`" not in body]
    assert not missing, f"[{table}] keys not documented: {missing}"


def test_every_template_value_is_documented() -> None:
    section = DOC.split("## Message texts", 1)[1].split("\n## ", 1)[0]
    assert [name for name in VARIABLES if f"| `{name}` |" not in section] == []


def test_the_example_configuration_is_accepted_and_fit_for_production() -> None:
    (example,) = re.findall(r"```toml\n(.*?)```", DOC, re.S)
    settings = NotifySettings.model_validate(tomllib.loads(example)["notify"])
    assert settings.production_problems() == []
    # Every key of every table appears in the example, set or commented out.
    for table, model in (
        ("notify", NotifySettings),
        ("notify.delivery", DeliverySettings),
        ("notify.smtp", SmtpConfig),
        ("notify.sms_http", SmsHttpConfig),
    ):
        block = example.split(f"[{table}]\n", 1)[1].split("\n[", 1)[0]
        for key in model.model_fields:
            if key in {"delivery", "smtp", "sms_http", "password", "token"}:
                continue  # tables shown as their own sections; inline secrets shown as *_file
            assert re.search(rf"^(# )?{key} = ", block, re.M), f"{table}.{key} missing from the example"

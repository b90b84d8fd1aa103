"""docs/video-backends.md names every configuration key and every backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from meetsvc.video.builtin import BuiltinConfig
from meetsvc.video.jitsi import JitsiConfig
from meetsvc.video.livekit import LiveKitConfig
from meetsvc.video.registry import VideoSettings
from meetsvc.video.vidicue import VidicueConfig

DOC = (Path(__file__).resolve().parents[2] / "docs" / "video-backends.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "table, model",
    [
        ("video", VideoSettings),
        ("video.builtin", BuiltinConfig),
        ("video.jitsi", JitsiConfig),
        ("video.livekit", LiveKitConfig),
        ("video.vidicue", VidicueConfig),
    ],
)
def test_every_key_is_documented_under_its_table(table: str, model: type[BaseModel]) -> None:
    section = DOC.split(f"### `[{table}]`", 1)
    assert len(section) == 2, f"docs/video-backends.md has no section for [{table}]"
    body = section[1].split("\n### ", 1)[0]
    missing = [key for key in model.model_fields if f"`{key}`" not in body]
    assert not missing, f"[{table}] keys not documented: {missing}"

"""The audit log: entries chained by keyed hash, verified by `meetsvc audit verify`."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from meetsvc.core.secrets import Secret
from meetsvc.services.audit import AuditLog, NewAuditEntry
from meetsvc.storage.engine import create_engine
from meetsvc.storage.tables import audit_log

KEY = Secret(b"k" * 32)


async def _append_some(engine, count: int) -> None:
    audit = AuditLog(KEY)
    for i in range(count):
        async with engine.begin() as connection:
            await audit.append(
                connection,
                actor="api-client:x",
                action="meeting.created",
                subject_type="meeting",
                subject_id=f"m{i}",
                details={"n": i, "text": "åäö"},
            )


@pytest.fixture
async def engine(database_url):
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def test_an_untouched_chain_verifies(engine):
    await _append_some(engine, 5)
    async with engine.connect() as connection:
        result = await AuditLog(KEY).verify(connection)
    assert result.ok and result.entries == 5


@pytest.mark.parametrize(
    "tamper, broken, reason",
    [
        (update(audit_log).where(audit_log.c.seq == 3).values(actor="staff:someone-else"), 3, "content"),
        (
            update(audit_log).where(audit_log.c.seq == 2).values(details=json.dumps({"n": 99, "text": "åäö"})),
            2,
            "content",
        ),
        (delete(audit_log).where(audit_log.c.seq == 4), 4, "missing"),
        (delete(audit_log).where(audit_log.c.seq == 6), 6, "deleted"),
        (update(audit_log).where(audit_log.c.seq == 5).values(prev_hash="0" * 64), 5, "point"),
    ],
    ids=["changed-actor", "changed-details", "deleted-middle", "deleted-last", "relinked"],
)
async def test_tampering_names_the_broken_entry(engine, tamper, broken, reason):
    await _append_some(engine, 6)
    async with engine.begin() as connection:
        await connection.execute(tamper)
    async with engine.connect() as connection:
        result = await AuditLog(KEY).verify(connection)
    assert not result.ok
    assert result.broken_seq == broken
    assert reason in result.reason


async def test_a_rewritten_chain_does_not_verify_without_the_key(engine):
    """Someone with database access but not the key cannot recompute a consistent chain."""
    await _append_some(engine, 3)
    forger = AuditLog(Secret(b"f" * 32))
    async with engine.begin() as connection:
        await connection.execute(delete(audit_log))
    # Rebuild with the forger's key from a fresh head.
    from meetsvc.storage.tables import audit_head

    async with engine.begin() as connection:
        await connection.execute(update(audit_head).values(seq=0, hash="0" * 64))
    for i in range(3):
        async with engine.begin() as connection:
            await forger.append(connection, actor="x", action="y", subject_type="z", subject_id=str(i))
    async with engine.connect() as connection:
        result = await AuditLog(KEY).verify(connection)
    assert not result.ok and result.broken_seq == 1


async def test_concurrent_appends_keep_one_chain(engine):
    audit = AuditLog(KEY)

    async def one(i: int) -> None:
        async with engine.begin() as connection:
            await audit.append(connection, actor="a", action="b", subject_type="c", subject_id=str(i))

    await asyncio.gather(*(one(i) for i in range(20)))
    async with engine.connect() as connection:
        result = await audit.verify(connection)
        seqs = (await connection.execute(select(audit_log.c.seq).order_by(audit_log.c.seq))).scalars().all()
    assert result.ok
    assert seqs == list(range(1, 21))


async def test_entries_appended_together_chain_as_if_appended_one_by_one(engine):
    """A decision records several entries at once; the chain cannot tell, and verifies."""
    audit = AuditLog(KEY)
    await _append_some(engine, 2)
    together = [
        NewAuditEntry("staff:s", "participant.admit", "participant", f"p{i}", "m", {"attendance": f"a{i}"})
        for i in range(3)
    ]
    async with engine.begin() as connection:
        written = await audit.append_all(connection, together)
    await _append_some(engine, 1)
    async with engine.connect() as connection:
        result = await audit.verify(connection)
        stored = (await connection.execute(select(audit_log).order_by(audit_log.c.seq))).all()
    assert result.ok and result.entries == 6
    assert [entry.seq for entry in written] == [3, 4, 5]
    assert [row.subject_id for row in stored] == ["m0", "m1", "p0", "p1", "p2", "m0"]
    assert all(row.prev_hash == before.hash for before, row in itertools.pairwise(stored))


async def test_concurrent_appends_of_several_entries_keep_one_chain(engine):
    audit = AuditLog(KEY)

    async def some(i: int) -> None:
        async with engine.begin() as connection:
            await audit.append_all(connection, [NewAuditEntry("a", "b", "c", f"{i}.{n}") for n in range(1 + i % 3)])

    await asyncio.gather(*(some(i) for i in range(12)))
    async with engine.connect() as connection:
        result = await audit.verify(connection)
    assert result.ok and result.entries == sum(1 + i % 3 for i in range(12))


async def test_an_entry_rolled_back_with_its_change_leaves_no_gap(engine):
    audit = AuditLog(KEY)
    with pytest.raises(RuntimeError):
        async with engine.begin() as connection:
            await audit.append(connection, actor="a", action="b", subject_type="c", subject_id="1")
            raise RuntimeError("the change failed")
    await _append_some(engine, 1)
    async with engine.connect() as connection:
        result = await audit.verify(connection)
    assert result.ok and result.entries == 1


async def test_personal_numbers_are_refused_in_details(engine):
    async with engine.begin() as connection:
        with pytest.raises(ValueError):
            await AuditLog(KEY).append(
                connection, actor="a", action="b", subject_type="c", subject_id="1", details={"pnr": "19811218-9876"}
            )


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEETSVC_CONFIG": str(config)}
    return subprocess.run([sys.executable, "-m", "meetsvc", *args], capture_output=True, text=True, env=env, timeout=60)


def test_the_audit_verify_command_reports_tampering(tmp_path: Path):
    config = tmp_path / "meetsvc.toml"
    config.write_text(
        f'environment = "development"\n[identity]\nprovider = "bankid-simulator"\n[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/db.sqlite3"\n'
        f'[security]\nkeys_dir = "{tmp_path}/keys"\ncreate_missing_keys = true\n'
    )
    assert _cli(config, "migrate").returncode == 0
    assert _cli(config, "organisation", "create", "Exempelstads kommun", "--kind", "municipality").returncode == 0
    assert _cli(config, "organisation", "create", "Region Exempel", "--kind", "region").returncode == 0
    intact = _cli(config, "audit", "verify")
    assert intact.returncode == 0, intact.stderr
    assert "intact: 2 entries" in intact.stdout

    import sqlite3

    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        db.execute("UPDATE audit_log SET action = 'organisation.deleted' WHERE seq = 2")
    broken = _cli(config, "audit", "verify")
    assert broken.returncode == 1
    assert "BROKEN at entry 2" in broken.stderr

"""`identity` is a generic name: the one imported must be ours, not another distribution's.

That the domain and `identity` stand alone (no transport, no database, no meetsvc) is kept by
the import contracts in pyproject.toml, which `make check` runs with lint-imports.
"""

from __future__ import annotations

from pathlib import Path

import identity

ROOT = Path(__file__).resolve().parents[1]


def test_identity_is_ours_and_not_another_distributions():
    assert Path(identity.__file__).resolve().parent == ROOT / "identity"

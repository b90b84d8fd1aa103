"""How long tests wait: a bound against hanging, never a measure of speed.

A test waits for the thing it checks (an answer, a row, an event) and goes on the moment it is
there; the bound only ends a test that would otherwise hang. It is generous, so that a slow or
busy machine takes longer but does not fail.
"""

from __future__ import annotations

WAIT_SECONDS = 30

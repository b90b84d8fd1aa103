"""Moving the start-up heap out of the garbage collector's sight.

By the time the service answers its first request, the interpreter holds a few hundred thousand
objects that live as long as the process: modules, classes, functions, the templates and
catalogues, SQLAlchemy's tables and compiled statements, the OpenAPI document. None of them
will ever be garbage, yet every full (generation 2) collection walks all of them again, and
with thousands of people waiting that walk is a pause every socket feels.

:func:`freeze_start_up_heap` collects once (so nothing already garbage is kept forever) and
then ``gc.freeze()``s what is left: the collector moves those objects to a permanent generation
and never looks at them again, so a full collection walks only what the service allocated
since. It is called once, after start-up, when the long-lived objects are all made. In a
process that forks after it (the supervisor does not), frozen objects are also not written to
by the collector, which keeps copy-on-write pages shared.
"""

from __future__ import annotations

import gc


def freeze_start_up_heap() -> int:
    """Collect, then freeze every object alive now; how many are frozen in all."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()

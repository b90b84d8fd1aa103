"""The use cases: what a SIP leader, a participant, an organiser or the schedule can do.

Each module is one capability: ``booking`` (meetings and their participants), ``waiting_room``
(the admission state machine applied: arrive, admit, deny, send back, remove, lock, end, the
heart of the product), ``identification`` (eID orders bound to a participant), ``handover``
(the video credential at admission), ``invitations`` and ``links`` (personal links), ``sessions``
(browser sessions), ``directory`` (organisations, staff, API clients) and ``audit`` (the
hash-chained log every change writes in its own transaction). A use case owns its transaction,
applies the rules of :mod:`meetsvc.domain`, and reads and writes through
:mod:`meetsvc.storage.queries`. It never imports aiohttp or socket.io: the transports in
:mod:`meetsvc.http` and :mod:`meetsvc.realtime` call these same operations, so a rule lives in
one place.
"""

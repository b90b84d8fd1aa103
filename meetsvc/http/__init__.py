"""The HTTP transport (aiohttp): the JSON API in ``api/``, the pages in ``pages/``, and the
middleware, health endpoints and typed application keys they share.

Handlers are thin: they parse, call one operation of :mod:`meetsvc.services`, and answer
(problem+json for the API, a readable page for people).
"""

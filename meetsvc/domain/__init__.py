"""The rules of SIP meetings, free of any transport or storage.

Nothing here imports aiohttp, socketio or SQLAlchemy (import contracts in pyproject.toml keep it
so): HTTP handlers, socket.io events, pages and the CLI all call the same rules, so each rule lives
in exactly one place.
"""

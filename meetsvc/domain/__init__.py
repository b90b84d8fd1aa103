"""The rules of SIP meetings, free of any transport or storage.

Nothing here imports aiohttp, socketio or SQLAlchemy: HTTP handlers, socket.io events, pages and
the CLI all call the same rules, so each rule lives in exactly one place (a test asserts it).
"""

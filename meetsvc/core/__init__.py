"""The dependency-free toolbox every layer may use: the clock, key files and secrets, token
signing and its key rotation, sealing of personal numbers, unguessable tokens, logs and metrics.

Nothing here knows of meetings, HTTP, socket.io or SQL.
"""

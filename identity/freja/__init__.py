"""Freja eID (Freja eID+ included) through Freja's relying-party REST API: client, provider, simulator."""

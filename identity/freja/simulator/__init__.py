"""A Freja eID simulator: the relying-party REST API over mutual TLS, signed JWS results, and a
page plus a control API that stand in for the Freja app. For development and tests only."""

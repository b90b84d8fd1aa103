"""Every SQL statement the service runs, one module per aggregate.

The use cases in :mod:`meetsvc.services` decide *what* happens and hold the transaction
(``async with engine.begin() as conn``); the functions here say *how* it is read or written,
take that connection as their first argument and answer typed values, never rows. Nothing
outside :mod:`meetsvc.storage` imports SQLAlchemy (an import contract in ``pyproject.toml``
keeps it so).
"""

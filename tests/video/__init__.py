"""Video backend tests (a package, so module names such as test_contract stay unique)."""

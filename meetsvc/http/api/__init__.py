"""The organiser JSON API under /api/v1: thin handlers over the booking operations."""

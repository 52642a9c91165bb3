"""The fault suite (``make chaos``, ``python -m chaos``): real dev server, real
worker processes, real database; kill, lock and restart them while applications
are in flight, then prove nothing was lost and nothing happened twice."""

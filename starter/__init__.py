"""What callers use: the typed client API and the ``unbind`` CLI over it."""

"""Pictures the site makes and serves itself: campaigns' share cards and legislators' photos.

Each is checked and re-encoded with Pillow, kept in the database (every web host serves the same
bytes; no host keeps a file of its own) under a name made from the content it came from, and
served from our own domain at ``/images/<name>`` with a year-long, immutable cache lifetime.
"""

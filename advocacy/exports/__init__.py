"""Contact tallies for organizers: dashboard, CSV exports, JSON API, retention."""

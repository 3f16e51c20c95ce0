"""Places every service shares: the district's towns (街镇) and residential estates (小区)."""

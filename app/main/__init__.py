"""The home page, language switch, help and error pages."""

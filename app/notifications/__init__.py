"""The in-app inbox (站内信): where every service delivers its messages to a person."""

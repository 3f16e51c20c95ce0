"""Venue operations. Plain functions taking a session; each public one is a transaction.

catalogue: venues, search, availability, slot materialisation, venue administration
booking:   book, cancel, approve, waitlist and offers, the rules a venue sets
door:      check-in at the door, crowd levels
sweep:     the periodic job: slots for the next 14 days, expired offers, no-shows, reminders
"""

"""Venue operations. Plain functions taking a session, the actor and their settings; each
public one that writes is one unit of work.

catalogue: venues and spaces, search, availability, slot materialisation
admin:     venue administration (venues, spaces, hours, closures, photos)
rules:     who may hold places (suspension, per-day and per-week limits), the venue settings
booking:   book, cancel (free, or at a no-show's cost after the cut-off), approve
changes:   the number of people of a booking one holds (one booking per person per slot)
placing:   making a booking, one unit of work of a handful of statements (pages and API)
waitlist:  the waitlist of a full slot, offers of freed places and their answers
door:      check-in at the door, crowd levels
sweep:     the periodic job: slots for the coming fortnight, expired offers, no-shows, reminders
"""

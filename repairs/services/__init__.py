"""物业百事通 operations: plain functions taking a session, the actor and their settings (no
Flask globals); each public one that writes is one unit of work (app.db.unit_of_work).

access:      who may see a report, join it, act on it as its resident or as staff
clock:       the response deadline, and the one rule for "at risk" and "breached"
companies:   which company manages an estate, and the response settings of each
tickets:     reporting, the resident's and the manager's actions, the state machine
open311:     Open311's rules: who files, where, and what the public list shows
sweep:       warnings and escalations, auto-closing (`flask sweep`)
supervision: the manager's queue and the supervisors' dashboards
rating:      the monthly company rating (物业企业考核), computed in SQL and kept a short while
"""

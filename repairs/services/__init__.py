"""物业百事通 operations. Plain functions taking a session; each public one is a transaction.

clock:       the response deadline and whether a ticket is at risk or breached
tickets:     reporting, the resident's and the manager's actions, the state machine
sweep:       warnings and escalations, auto-closing (`flask sweep`)
supervision: dashboards and the monthly company rating (物业企业考核)
"""

"""The parking service's domain operations, one module per area: reservations (the reservable
pool), sharing (off-peak contracts), payments, gate (barrier events and stays), vehicles and
verification (plates as claims), retention, sweep, tariffs, plates, operator (figures and
settings) and search. Plain functions taking a session, the actor and settings; no Flask
globals."""

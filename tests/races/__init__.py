"""Races, gathered in one place. Every test here uses real, committing sessions on separate
connections (``committed_db`` / ``committed``), so PostgreSQL — not Python — settles each race:

- ``test_complaint_transitions``: 50 concurrent accepts of one complaint → one winner, one
  event; the rest 409/412.
- ``test_callback_queue``: 100 agents on 1,000 callbacks (and 50 on 10) with ``claim-next`` →
  each callback held by exactly one agent at a time (``FOR UPDATE SKIP LOCKED``).
- ``test_ivr_intake``: 20 concurrent posts of one IVR call id → one ticket per intent; first
  calls from one new number → one customer.
- ``test_sweepers``: four clock sweepers at once → each breach recorded once; a locked clock is
  skipped, not waited for.
- ``test_webhook_workers``: two delivery workers → each committed event delivered exactly once.
- ``test_branches``: concurrent retries with one ``Idempotency-Key`` → one branch; concurrent
  changes on one ``If-Match`` version → one winner.
- ``test_calendar_year_load``: a clock started during a calendar-year load waits for it and
  uses the new calendar.
- ``test_first_start``: eight workers starting at once → one head office and one ``admin``.
"""

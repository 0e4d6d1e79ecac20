"""What the inspection work lets the layers above it do (`portal/hooks.py`).

Documents (`documents/apps.py`) draft on `inspection_submitted` and `hazard_reinspected`, and
list an inspection's documents for its page on `inspection_documents`; the
statistics (`reporting/apps.py`) note the days to recount on the other hooks. Services fire them
inside their own transaction.
"""

from portal.hooks import Hook

inspection_submitted = Hook(
    "inspection_submitted",
    "An inspection was submitted (actor, inspection): each handler returns the documents it "
    "drafted, as a list.",
)
hazard_reinspected = Hook(
    "hazard_reinspected",
    "A hazard was re-inspected (actor, hazard): each handler returns the document it drafted, "
    "or None.",
)
inspections_changed = Hook(
    "inspections_changed",
    "What the statistics count of these inspections changed (inspections, a queryset): their "
    "date, their hazards, their being submitted.",
)
hazards_changed = Hook(
    "hazards_changed", "The state of these hazards changed (hazards, a queryset)."
)
firms_moved = Hook("firms_moved", "Firms moved to another street or park (firm_ids).")
days_changed = Hook(
    "days_changed", "The statistics of these days of a bureau changed (bureau_id, days)."
)
inspection_documents = Hook(
    "inspection_documents",
    "The documents of an inspection that a user may see, for the inspection's page (user, "
    "inspection): each handler returns a list.",
)

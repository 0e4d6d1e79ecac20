"""Every read of the inspection checklist and its legal basis, scoped to who is asking:
`access_*_by_id` answers 404 for missing and forbidden alike."""

from contractors.checklists.models import Checklist
from contractors.inspections.models import Inspection


def current_checklist(bureau):
    """The checklist version new inspections of `bureau` use, or None before one is installed."""
    return Checklist.objects.filter(bureau=bureau, is_current=True).first()


def checklist_in_use(checklist):
    """Whether an inspection has used this checklist version, which then must not change."""
    return checklist is not None and Inspection.objects.filter(checklist=checklist).exists()

"""The app's models, gathered from its rooms so that Django finds them; import from the rooms."""

from contractors.checklists.models import Checklist, ChecklistItem
from contractors.evidence.models import Evidence
from contractors.hazards.models import Hazard, HazardCategory, HazardLevel
from contractors.inspections.models import ChecklistAnswer, Inspection
from contractors.register.models import (
    Firm,
    Grid,
    KeyCategory,
    Park,
    RegisterImport,
    Street,
    StreetKind,
)
from contractors.tenancy.models import (
    Agency,
    Assignment,
    Contract,
    FirmGroupObjectPermission,
    FirmUserObjectPermission,
)

__all__ = [
    "Agency",
    "Assignment",
    "Checklist",
    "ChecklistAnswer",
    "ChecklistItem",
    "Contract",
    "Evidence",
    "Firm",
    "FirmGroupObjectPermission",
    "FirmUserObjectPermission",
    "Grid",
    "Hazard",
    "HazardCategory",
    "HazardLevel",
    "Inspection",
    "KeyCategory",
    "Park",
    "RegisterImport",
    "Street",
    "StreetKind",
]

"""Every write of the inspection checklist and its legal basis: `do_<verb>(*, actor, ...)`, atomic
and audited."""

import json
from pathlib import Path

from django.db import transaction
from django.db.models import Max

from contractors.checklists.models import Checklist, ChecklistItem
from portal.models import Bureau
from portal.services import record_audit_event

CHECKLIST_FILE = Path(__file__).resolve().parent / "data" / "checklist.json"


CHECKLIST_ITEM_FIELDS = ("category", "text", "legal_basis", "requirement")


def _checklist_items(checklist):
    return [
        dict(zip(CHECKLIST_ITEM_FIELDS, values, strict=True))
        for values in checklist.items.order_by("position").values_list(*CHECKLIST_ITEM_FIELDS)
    ]


def _new_checklist_version(actor, bureau, name, items, *, action, detail=None):
    """Version max+1 of the bureau's checklist `name` with `items`, made current."""
    # Serialises version numbering and the one-current switch per bureau.
    Bureau.objects.select_for_update().get(pk=bureau.pk)
    latest = Checklist.objects.filter(bureau=bureau, name=name).aggregate(Max("version"))
    Checklist.objects.filter(bureau=bureau, is_current=True).update(is_current=False)
    checklist = Checklist.objects.create(
        bureau=bureau,
        name=name,
        version=(latest["version__max"] or 0) + 1,
        is_current=True,
    )
    ChecklistItem.objects.bulk_create(
        ChecklistItem(checklist=checklist, position=position, **item)
        for position, item in enumerate(items, 1)
    )
    record_audit_event(
        actor=actor,
        action=action,
        target=checklist,
        bureau=bureau,
        detail={"version": checklist.version, "items": len(items), **(detail or {})},
    )
    return checklist


@transaction.atomic
def do_install_default_checklist(*, actor, bureau):
    """Make the shipped default checklist (contractors/checklists/data/checklist.json) the bureau's
    current one, as a new version; nothing changes when it already is."""
    data = json.loads(CHECKLIST_FILE.read_text(encoding="utf-8"))
    items = [{name: item[name] for name in CHECKLIST_ITEM_FIELDS} for item in data["items"]]
    current = Checklist.objects.filter(bureau=bureau, is_current=True).first()
    if current is not None and current.name == data["name"] and _checklist_items(current) == items:
        return current
    return _new_checklist_version(actor, bureau, data["name"], items, action="checklist.installed")


@transaction.atomic
def do_copy_checklist_version(*, actor, checklist):
    """A new, current version with the items of `checklist`, to edit where the old version
    must stay as the inspections that used it saw it."""
    return _new_checklist_version(
        actor,
        checklist.bureau,
        checklist.name,
        _checklist_items(checklist),
        action="checklist.copied",
        detail={"copied_from": str(checklist.pk), "copied_version": checklist.version},
    )

"""A firm's own figures, all time: what its safety officer sees on its summary page."""

from django.db.models import Count, Q

from contractors.hazards.models import Hazard, HazardCategory, HazardLevel
from contractors.hazards.selectors import hazards_visible_to
from documents.models import Document
from documents.selectors import documents_visible_to
from portal.access import require_role
from portal.models import Role
from reporting.stats import OVERDUE_LISTED, percent


def firm_figures(user):
    """A firm user's figures of its own firm, all time: its hazards by state and category, and
    the documents signed for it (acknowledged or still to acknowledge); 403 for anyone else."""
    require_role(user, Role.FIRM_USER)
    hazards = hazards_visible_to(user).order_by()
    figures = hazards.aggregate(
        hazards=Count("pk"),
        major=Count("pk", filter=Q(level=HazardLevel.MAJOR)),
        open=Count("pk", filter=Q(status=Hazard.Status.OPEN)),
        awaiting_reinspection=Count("pk", filter=Q(status=Hazard.Status.RECTIFIED)),
        rectified=Count("pk", filter=Q(status=Hazard.Status.VERIFIED)),
        overdue=Count("pk", filter=Q(status=Hazard.Status.OVERDUE)),
    )
    figures["rate"] = percent(figures["rectified"], figures["hazards"])
    counted = {
        row["category"]: row["hazards"]
        for row in hazards.values("category").annotate(hazards=Count("pk"))
    }
    figures["categories"] = [
        {
            "category": category.value,
            "name": category.label,
            "hazards": counted.get(category.value, 0),
        }
        for category in HazardCategory
    ]
    signed = Q(status=Document.Status.APPROVED)
    figures.update(
        documents_visible_to(user)
        .order_by()
        .aggregate(
            documents=Count("pk", filter=signed),
            acknowledged=Count("pk", filter=signed & Q(acknowledged_at__isnull=False)),
            to_acknowledge=Count("pk", filter=signed & Q(acknowledged_at__isnull=True)),
        )
    )
    figures["pending"] = list(
        hazards.filter(status__in=(Hazard.Status.OPEN, Hazard.Status.OVERDUE)).order_by(
            "deadline", "created_at", "pk"
        )[:OVERDUE_LISTED]
    )
    return figures

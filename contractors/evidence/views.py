"""The pages of evidence (upload slots, confirmation, downloads, purging what was never confirmed):
access helper, service, response."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from contractors.evidence.models import Evidence
from contractors.evidence.selectors import access_evidence_by_id, evidence_visible_to
from contractors.evidence.services import do_issue_evidence_download


def _evidence_of(user, **filters):
    return evidence_visible_to(user).filter(status=Evidence.Status.CONFIRMED, **filters)


@require_GET
@login_required
def evidence_download(request, evidence_id):
    evidence = access_evidence_by_id(request.user, evidence_id)
    thumbnail = request.GET.get("thumbnail") == "1" and bool(evidence.thumbnail_key)
    return redirect(
        do_issue_evidence_download(actor=request.user, evidence=evidence, thumbnail=thumbnail)
    )

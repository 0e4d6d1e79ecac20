from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from contractors.selectors import recent_register_imports, register_summary
from portal.access import membership_of
from portal.models import OrganisationKind


@login_required
def home(request):
    membership = membership_of(request.user)
    if membership is None:
        return render(request, "portal/home_outsider.html", status=200)
    template = {
        OrganisationKind.BUREAU: "portal/home_bureau.html",
        OrganisationKind.AGENCY: "portal/home_agency.html",
        OrganisationKind.FIRM: "portal/home_firm.html",
    }[membership.kind]
    return render(
        request,
        template,
        {
            "summary": register_summary(request.user),
            "recent_imports": recent_register_imports(request.user),
        },
    )

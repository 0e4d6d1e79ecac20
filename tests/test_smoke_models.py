import pytest
from django.db import IntegrityError

from portal.models import Membership, Role


def test_cast_builds(cast):
    assert cast.inspector_a1.membership.agency == cast.agency_a
    assert cast.firm_user_b.membership.organisation == cast.firm_b


def test_membership_must_match_its_role(cast):
    with pytest.raises(IntegrityError):
        Membership.objects.create(user=cast.outsider, role=Role.FIRM_USER, bureau=cast.bureau)

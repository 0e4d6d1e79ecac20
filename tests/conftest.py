"""The fixed cast every permission test uses (DESIGN.md, Rules).

One bureau with an admin and a reviewer; two agencies (A and B) with a manager and two
inspectors each, each with a 2021 contract; two firms, firm A assigned to agency A and firm B
to agency B, with a user each; and an outsider who belongs nowhere.
"""

import base64
import hashlib
import hmac
import struct
import time
import uuid
from datetime import date
from types import SimpleNamespace

import pytest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from contractors.register.models import Firm, Grid, Park, Street
from contractors.register.uscc import make_uscc
from contractors.tenancy.services import (
    do_add_member,
    do_assign_firms,
    do_create_agency,
    do_create_contract,
)
from portal.models import Bureau, Role, User
from portal.second_factor.services import do_enrol_known_secret

PASSWORD = "cast-pass-2021"
# The admin's and the reviewer's authenticator secret (base32, the public demo one of API.md).
OTP_SECRET = "JBSWY3DPEHPK3PXP"


def totp(secret=OTP_SECRET, *, at=None, steps=0):
    """The RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret at `at` (now), `steps`
    time steps later, computed here without django-otp so that tests check it independently."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // 30) + steps
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def make_user(username, *, role=None, bureau=None, agency=None, firm=None, full_name=""):
    user = User.objects.create_user(username, password=PASSWORD, full_name=full_name or username)
    if role:
        do_add_member(actor=None, user=user, role=role, bureau=bureau, agency=agency, firm=firm)
    return user


def make_agency(bureau, name, serial):
    return do_create_agency(
        actor=None, bureau=bureau, name=name, uscc=make_uscc(region="310107", serial=serial)
    )


def make_contract(agency, *, quota=100, start=date(2021, 1, 1), end=date(2021, 12, 31)):
    return do_create_contract(
        actor=None,
        bureau=agency.bureau,
        agency=agency,
        period_start=start,
        period_end=end,
        quota=quota,
    )


def assign(contract, *firms):
    return do_assign_firms(
        actor=None, contract=contract, firms=Firm.objects.filter(pk__in=[f.pk for f in firms])
    )


@pytest.fixture
def bureau(db):
    return Bureau.objects.create(
        name="上海市普陀区应急管理局", short_name="普", region_code="310107"
    )


@pytest.fixture
def register(bureau):
    """Two streets, a grid, a park: enough reference data for firms and imports."""
    changshou = Street.objects.create(bureau=bureau, name="长寿路街道", code="01", kind="street")
    taopu = Street.objects.create(bureau=bureau, name="桃浦镇", code="10", kind="town")
    return SimpleNamespace(
        changshou=changshou,
        taopu=taopu,
        grid=Grid.objects.create(street=changshou, name="第一网格"),
        park=Park.objects.create(bureau=bureau, name="铁三角工业园区"),
    )


def make_firm(bureau, street, serial, **fields):
    return Firm.objects.create(
        bureau=bureau,
        street=street,
        uscc=make_uscc(region=bureau.region_code, serial=serial),
        name=fields.pop("name", f"测试企业{serial}有限公司"),
        **fields,
    )


@pytest.fixture
def cast(bureau, register):
    agency_a = make_agency(bureau, "甲安全技术服务有限公司", 9001)
    agency_b = make_agency(bureau, "乙安全咨询有限公司", 9002)
    firm_a = make_firm(bureau, register.changshou, 1, name="甲化工有限公司", park=register.park)
    firm_b = make_firm(bureau, register.taopu, 2, name="乙物流有限公司")
    contract_a = make_contract(agency_a)
    contract_b = make_contract(agency_b)
    assign(contract_a, firm_a)
    assign(contract_b, firm_b)
    admin = make_user("admin", role=Role.BUREAU_ADMIN, bureau=bureau, full_name="王管理")
    reviewer = make_user("reviewer", role=Role.BUREAU_REVIEWER, bureau=bureau, full_name="李审核")
    # The people who sign have their second factor, as seed_demo gives the demo's.
    for signer in (admin, reviewer):
        do_enrol_known_secret(actor=None, user=signer, secret=OTP_SECRET)
    return SimpleNamespace(
        contract_a=contract_a,
        contract_b=contract_b,
        bureau=bureau,
        register=register,
        agency_a=agency_a,
        agency_b=agency_b,
        firm_a=firm_a,
        firm_b=firm_b,
        admin=admin,
        reviewer=reviewer,
        manager_a=make_user("a-manager", role=Role.AGENCY_MANAGER, bureau=bureau, agency=agency_a),
        inspector_a1=make_user(
            "a-inspector1", role=Role.AGENCY_INSPECTOR, bureau=bureau, agency=agency_a
        ),
        inspector_a2=make_user(
            "a-inspector2", role=Role.AGENCY_INSPECTOR, bureau=bureau, agency=agency_a
        ),
        manager_b=make_user("b-manager", role=Role.AGENCY_MANAGER, bureau=bureau, agency=agency_b),
        inspector_b1=make_user(
            "b-inspector1", role=Role.AGENCY_INSPECTOR, bureau=bureau, agency=agency_b
        ),
        inspector_b2=make_user(
            "b-inspector2", role=Role.AGENCY_INSPECTOR, bureau=bureau, agency=agency_b
        ),
        firm_user_a=make_user("firm-a", role=Role.FIRM_USER, bureau=bureau, firm=firm_a),
        firm_user_b=make_user("firm-b", role=Role.FIRM_USER, bureau=bureau, firm=firm_b),
        outsider=make_user("outsider"),
    )


@pytest.fixture
def client_for(client):
    """A logged-in page client for one member of the cast (None: anonymous). A user with an
    authenticator has passed the second step too, as django_otp.login marks it."""

    def login(user):
        client.logout()
        if user is not None:
            client.force_login(user)
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            if device is not None:
                session = client.session
                session[DEVICE_ID_SESSION_KEY] = device.persistent_id
                session.save()
        return client

    return login


@pytest.fixture
def api_for():
    """A logged-in API client for one member of the cast (None: anonymous). As with a token,
    which is issued only behind the second factor, the request counts as past it: no session
    reaches the second factor's middleware."""

    def login(user):
        api = APIClient()
        if user is not None:
            api.force_authenticate(user)
        return api

    return login


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's S3 server on a free loopback port: boto3 reaches it over HTTP exactly as it
    reaches S3 in production."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def use_s3(settings, endpoint):
    """Point the settings at a fresh bucket on the S3 server at `endpoint`; a boto3 client."""
    import boto3

    settings.S3_BUCKET = f"evidence-{uuid.uuid4().hex}"
    settings.S3_ENDPOINT_URL = endpoint
    settings.S3_REGION = "us-east-1"
    settings.S3_ACCESS_KEY_ID = "testing"
    settings.S3_SECRET_ACCESS_KEY = "testing"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=settings.S3_BUCKET)
    return client


@pytest.fixture
def s3(settings, moto_endpoint):
    """Evidence goes to a fresh bucket on moto's server; the boto3 client to inspect it."""
    return use_s3(settings, moto_endpoint)


@pytest.fixture
def local_storage(settings, tmp_path):
    """Evidence goes to local files under a fresh folder; that folder of objects."""
    settings.S3_BUCKET = ""
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path / "media" / "objects"

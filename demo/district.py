"""The deterministic demo district (API.md, "The demo cast").

Putuo's streets, grids and parks come from `data/putuo.json`; the firms, agencies and people are
invented. Same arguments, same data: every random choice comes from a `random.Random` seeded
with a fixed string, and the rows written directly (bureau, streets, grids, parks, firms, users)
have a uuid5 of a stable name as primary key, so two seedings can be compared row by row.
Agencies, memberships, contracts and assignments go through the services every other caller
uses, so that the access they grant is the real thing; those rows get fresh ids and are compared
by their stable fields instead. The roads in the addresses do not exist and the phone numbers
are random.
"""

import json
import random
import uuid
from datetime import date
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.db import transaction

from contractors.checklists.services import do_install_default_checklist
from contractors.register.models import KEY_PLACE_KINDS, Firm, Grid, KeyCategory, Park, Street
from contractors.register.uscc import make_uscc
from contractors.tenancy.services import (
    do_add_member,
    do_assign_firms,
    do_create_agency,
    do_create_contract,
    do_share_out_firms,
)
from demo.activity import build_demo_activity
from portal.models import Bureau, Membership, Role, User
from portal.second_factor.services import do_enrol_known_secret
from portal.services import record_audit_event

REFERENCE_FILE = Path(__file__).resolve().parent / "data" / "putuo.json"
NAMESPACE = uuid.UUID("b779ffaf-6560-44b9-8489-2165e6b35ece")

DEFAULT_FIRMS = 5000
# The trade-name pools below give every industry about 6000 distinct names; this bound keeps
# the unique-name draw quick.
MAX_FIRMS = 20000
DEFAULT_PASSWORD = "demo-pass-2021"
# The authenticator secret API.md names for the demo's admin and reviewer: public, like the
# password, so that the demo and outside checks can log in.
DEFAULT_OTP_SECRET = "JBSWY3DPEHPK3PXP"
DEMO_SIGNERS = ("admin", "reviewer")
BATCH_SIZE = 500
PARK_SHARE = 0.1
FIRM_USERS_PER_AGENCY = 10
FIRMS_SHARED_OUT_PER_AGENCY = 10
INSPECTORS_PER_AGENCY = 2
# The current service year of the demo, the year of the bureau's report.
SERVICE_YEAR = 2021
QUOTA_STEP = 100
FIRM_SERIALS = range(10_000_000, 90_000_000)
AGENCY_SERIALS = range(90_000_000, 100_000_000)

AGENCIES = (
    ("上海安衡安全技术服务有限公司", "安全评价机构资质（乙级）"),
    ("上海恒睿安全评价咨询有限公司", "安全评价机构资质（乙级）；安全生产标准化评审单位"),
    ("上海沪衡应急管理咨询有限公司", "安全生产技术服务机构；注册安全工程师事务所"),
)

# Industry -> the words a firm of that industry puts in its name, and how common it is.
INDUSTRIES = {
    "制造业": (("机械制造", "电子科技", "塑料制品"), 20),
    "批发和零售业": (("商贸", "贸易", "百货"), 22),
    "住宿和餐饮业": (("餐饮管理", "酒店管理", "餐饮"), 18),
    "仓储物流": (("物流", "仓储服务", "供应链管理"), 8),
    "建筑业": (("建筑工程", "建设工程", "装饰工程"), 6),
    "商务楼宇": (("物业管理", "置业", "企业管理"), 10),
    "教育培训": (("教育科技", "教育培训", "文化艺术"), 5),
    "养老服务": (("养老服务", "护理", "健康管理"), 3),
    "危险化学品经营": (("化工", "化工贸易", "化学品"), 3),
    "机动车维修": (("汽车维修", "汽车服务", "机动车检测"), 5),
}
# A key-supervision unit is in the industry its category or kind implies; fire units can be in
# any industry.
KEY_INDUSTRY = {
    KeyCategory.CONSTRUCTION: "建筑业",
    "危险化学品": "危险化学品经营",
    "特种设备": "制造业",
    "地下空间": "商务楼宇",
    "道路交通": "仓储物流",
    "大型商场和综合性市场": "批发和零售业",
    "社会福利养老机构": "养老服务",
}

TRADE_FIRST = (
    "华宏鑫瑞恒泰嘉永金德中天海东方博佳汇正宝建昌联凯荣锦明星云峰润鼎晨启远卓越誉新裕铭沪申浦翔君弘"
)
TRADE_SECOND = (
    "达通丰源顺成信利隆兴盛诚科茂辉邦富祥发旺鸿晟创宇航龙腾涛禾川宁仁捷骏祺泽旭阳亚光能美欣"
)
ROADS = tuple(
    "澜星路 禾丰路 景岚路 沁园路 锦屏路 泓川路 兰汀路 枫溪路 桐苑路 松筠路 鹤鸣路 雁栖路".split()
)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋"
    "蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江顾毛钱严"
)
GIVEN_NAMES = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华玉萍红玲芬"
    "燕彬斌宇浩凯健俊帆旭宁龙林欣晨峰建国文辉立群思远佳怡卫东海"
)
MOBILE_PREFIXES = tuple("130 133 135 136 137 138 139 150 158 177 186 189".split())


def _rng(topic):
    """A generator per topic, so adding a draw for one kind of row never shifts another."""
    return random.Random(f"putuo-demo/{topic}")


def _id(kind, key):
    return uuid.uuid5(NAMESPACE, f"{kind}/{key}")


def load_reference():
    with REFERENCE_FILE.open(encoding="utf-8") as file:
        return json.load(file)


def person_name(rng):
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN_NAMES, k=rng.choice((1, 2))))


def mobile_number(rng):
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def build_bureau(reference):
    facts = reference["bureau"]
    return Bureau.objects.create(id=_id("bureau", facts["region_code"]), **facts)


def build_streets_and_grids(bureau, reference):
    """The streets and towns in code order, and all their grids."""
    streets, grids = [], []
    for facts in reference["streets"]:
        street = Street(
            id=_id("street", facts["code"]),
            bureau=bureau,
            name=facts["name"],
            code=facts["code"],
            kind=facts["kind"],
        )
        streets.append(street)
        grids += [
            Grid(id=_id("grid", f"{street.code}/{name}"), street=street, name=name)
            for name in facts["grids"]
        ]
    Street.objects.bulk_create(streets)
    Grid.objects.bulk_create(grids)
    return streets, grids


def build_parks(bureau, reference):
    parks = [Park(id=_id("park", name), bureau=bureau, name=name) for name in reference["parks"]]
    return Park.objects.bulk_create(parks)


def key_unit_counts(firms, split):
    """The key-supervision units per category: `split` itself when there are enough firms,
    otherwise every firm, shared out in the split's proportions (largest remainder)."""
    total = sum(split.values())
    if firms >= total:
        return dict(split)
    counts = {category: n * firms // total for category, n in split.items()}
    by_remainder = sorted(split, key=lambda category: -(split[category] * firms % total))
    for category in by_remainder[: firms - sum(counts.values())]:
        counts[category] += 1
    return counts


def _key_units(firms, counts):
    """(key_category, key_kind) for each firm position; key-place units cycle through the kinds."""
    units = [(KeyCategory.NONE, "")] * firms
    categories = [
        (
            category,
            KEY_PLACE_KINDS[i % len(KEY_PLACE_KINDS)] if category == KeyCategory.KEY_PLACE else "",
        )
        for category, n in counts.items()
        for i in range(n)
    ]
    positions = _rng("key-units").sample(range(firms), len(categories))
    for position, unit in zip(positions, categories, strict=True):
        units[position] = unit
    return units


def _industry(rng, key_category, key_kind):
    implied = KEY_INDUSTRY.get(key_kind) or KEY_INDUSTRY.get(key_category)
    if implied:
        return implied
    names = list(INDUSTRIES)
    return rng.choices(names, weights=[INDUSTRIES[name][1] for name in names])[0]


def _unique_firm_name(rng, industry, taken):
    words = INDUSTRIES[industry][0]
    while True:
        name = f"上海{rng.choice(TRADE_FIRST)}{rng.choice(TRADE_SECOND)}{rng.choice(words)}有限公司"
        if name not in taken:
            taken.add(name)
            return name


def build_firms(bureau, grids, parks, *, count, key_counts):
    """`count` firms spread over the grids (so bigger streets get more firms), about a tenth of
    them in a park."""
    rng = _rng("firms")
    serials = rng.sample(FIRM_SERIALS, count)
    taken = set()
    firms = []
    for serial, (key_category, key_kind) in zip(
        serials, _key_units(count, key_counts), strict=True
    ):
        grid = rng.choice(grids)
        industry = _industry(rng, key_category, key_kind)
        uscc = make_uscc(region=bureau.region_code, serial=serial)
        firms.append(
            Firm(
                id=_id("firm", uscc),
                bureau=bureau,
                uscc=uscc,
                name=_unique_firm_name(rng, industry, taken),
                address=f"上海市普陀区{rng.choice(ROADS)}{rng.randint(1, 1999)}号",
                street=grid.street,
                grid=grid,
                park=rng.choice(parks) if rng.random() < PARK_SHARE else None,
                industry=industry,
                key_category=key_category,
                key_kind=key_kind,
                legal_representative=person_name(rng),
                contact=person_name(rng),
                phone=mobile_number(rng),
            )
        )
    return Firm.objects.bulk_create(firms, batch_size=BATCH_SIZE)


def build_agencies(bureau):
    """The agencies in demo order (agency 1 first), which is also their credit-code order."""
    rng = _rng("agencies")
    serials = sorted(rng.sample(AGENCY_SERIALS, len(AGENCIES)))
    return [
        do_create_agency(
            actor=None,
            bureau=bureau,
            name=name,
            uscc=make_uscc(region=bureau.region_code, serial=serial),
            qualification=qualification,
            contact=person_name(rng),
            phone=mobile_number(rng),
        )
        for serial, (name, qualification) in zip(serials, AGENCIES, strict=True)
    ]


def agency_share(streets):
    """The streets each agency covers, agency 1 first: the streets in code order, dealt
    round-robin (streets 1, 4, 7, 10 to agency 1; 2, 5, 8 to agency 2; 3, 6, 9 to agency 3)."""
    ordered = sorted(streets, key=lambda street: street.code)
    return [ordered[i :: len(AGENCIES)] for i in range(len(AGENCIES))]


def firms_in_share(firms, share):
    """The firms in the share's streets, by credit code."""
    street_ids = {street.pk for street in share}
    return sorted((firm for firm in firms if firm.street_id in street_ids), key=lambda f: f.uscc)


def _cast(agencies, firms, streets):
    """(username, full name, role, agency, firm) for every demo user."""
    rng = _rng("cast")
    cast = [
        ("admin", person_name(rng), Role.BUREAU_ADMIN, None, None),
        ("reviewer", person_name(rng), Role.BUREAU_REVIEWER, None, None),
    ]
    for number, agency in enumerate(agencies, start=1):
        cast.append((f"a{number}-manager", person_name(rng), Role.AGENCY_MANAGER, agency, None))
        cast += [
            (f"a{number}-inspector{i}", person_name(rng), Role.AGENCY_INSPECTOR, agency, None)
            for i in range(1, INSPECTORS_PER_AGENCY + 1)
        ]
    for share in agency_share(streets):
        cast += [
            (f"firm-{firm.uscc}", firm.contact, Role.FIRM_USER, None, firm)
            for firm in firms_in_share(firms, share)[:FIRM_USERS_PER_AGENCY]
        ]
    return cast


def build_users(bureau, agencies, firms, streets, *, password):
    """Every demo user, with the membership (and so the access) its role brings; by username."""
    # One hash for everyone: hashing each user separately would take seconds.
    encoded = make_password(password)
    cast = _cast(agencies, firms, streets)
    users = User.objects.bulk_create(
        User(
            id=_id("user", username),
            username=username,
            full_name=full_name,
            password=encoded,
            is_staff=role == Role.BUREAU_ADMIN,
            is_superuser=role == Role.BUREAU_ADMIN,
        )
        for username, full_name, role, _agency, _firm in cast
    )
    for user, (_username, _name, role, agency, firm) in zip(users, cast, strict=True):
        do_add_member(actor=None, user=user, role=role, bureau=bureau, agency=agency, firm=firm)
    return {user.username: user for user in users}


def contract_quota(firms):
    """The share's size rounded up to the next hundred: contracts are bought in round numbers."""
    return max(1, -(-firms // QUOTA_STEP)) * QUOTA_STEP


def build_contracts(bureau, agencies, firms, streets):
    """One contract per agency for the service year, with the agency's whole share assigned in
    one bulk call; the contracts in demo order and the number of firms assigned."""
    contracts, assigned = [], 0
    for number, (agency, share) in enumerate(zip(agencies, agency_share(streets), strict=True), 1):
        contract = do_create_contract(
            actor=None,
            bureau=bureau,
            agency=agency,
            number=f"{bureau.short_name}应急服〔{SERVICE_YEAR}〕{number}号",
            period_start=date(SERVICE_YEAR, 1, 1),
            period_end=date(SERVICE_YEAR, 12, 31),
            quota=contract_quota(len(firms_in_share(firms, share))),
        )
        result = do_assign_firms(
            actor=None,
            contract=contract,
            firms=Firm.objects.filter(bureau=bureau, street__in=share),
        )
        contracts.append(contract)
        assigned += result.assigned
    return contracts, assigned


def share_out(agencies, firms, streets, users):
    """The first firms of each agency's share go to its inspectors, in equal runs."""
    run = FIRMS_SHARED_OUT_PER_AGENCY // INSPECTORS_PER_AGENCY
    for number, (agency, share) in enumerate(zip(agencies, agency_share(streets), strict=True), 1):
        first = firms_in_share(firms, share)[:FIRMS_SHARED_OUT_PER_AGENCY]
        for i in range(INSPECTORS_PER_AGENCY):
            do_share_out_firms(
                actor=None,
                agency=agency,
                firms=Firm.objects.filter(pk__in=[f.pk for f in first[i * run : (i + 1) * run]]),
                inspector=users[f"a{number}-inspector{i + 1}"],
            )


@transaction.atomic
def build_demo_district(*, firms, password):
    """Seed the whole demo district into an empty database; returns the counts."""
    reference = load_reference()
    bureau = build_bureau(reference)
    streets, grids = build_streets_and_grids(bureau, reference)
    parks = build_parks(bureau, reference)
    key_counts = key_unit_counts(firms, reference["key_supervision"])
    firm_rows = build_firms(bureau, grids, parks, count=firms, key_counts=key_counts)
    agencies = build_agencies(bureau)
    users = build_users(bureau, agencies, firm_rows, streets, password=password)
    contracts, assigned = build_contracts(bureau, agencies, firm_rows, streets)
    share_out(agencies, firm_rows, streets, users)
    do_install_default_checklist(actor=None, bureau=bureau)
    inspections = build_demo_activity(
        bureau, [firms_in_share(firm_rows, share) for share in agency_share(streets)], users
    )
    counts = {
        "firms": len(firm_rows),
        "streets": len(streets),
        "grids": len(grids),
        "parks": len(parks),
        "key_units": key_counts,
        "agencies": len(agencies),
        "contracts": len(contracts),
        "assigned": assigned,
        "users": len(users),
        "inspections": inspections,
    }
    record_audit_event(actor=None, action="demo.seed", target=bureau, bureau=bureau, detail=counts)
    return counts


def enrol_demo_signers(*, secret):
    """The demo's admin and reviewer with an authenticator of the given base32 secret, so that
    the demo and outside checks can compute their codes."""
    region_code = load_reference()["bureau"]["region_code"]
    signers = User.objects.filter(
        membership__bureau__region_code=region_code, username__in=DEMO_SIGNERS
    ).order_by("username")
    for user in signers:
        do_enrol_known_secret(actor=None, user=user, secret=secret)


def demo_logins():
    """(username, role label) of every member of the demo bureau, in role order then name."""
    region_code = load_reference()["bureau"]["region_code"]
    rank = {role: i for i, role in enumerate(Role.values)}
    members = Membership.objects.filter(bureau__region_code=region_code).select_related("user")
    ordered = sorted(members, key=lambda m: (rank[m.role], m.user.username))
    return [(m.user.username, m.get_role_display()) for m in ordered]

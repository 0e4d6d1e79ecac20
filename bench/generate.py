"""The district at a scale factor, bulk-loaded for the measurements.

Scale 1 is the report's year (DESIGN.md; the figures below are the report's): 5000 firms, all
assigned to three agencies, 27,000 submitted inspections, 59,000 hazards in the report's five
categories with its rectification rate, 15,000 legal documents, one confirmed photo per hazard;
scale 10 is ten times each (the agencies stay three, so each holds ten times the firms). Any
scale factor works, fractions included (the harness's own test uses one of 0.01).

Reference data, agencies, contracts, the checklist and the document templates go through the
portal's own code. Everything counted in thousands goes straight into its table: COPY on
PostgreSQL, one executemany per batch elsewhere. Those rows are what the services would have
written, including the access they grant: an assignment per firm with its agency group's
`view_firm` and `inspect_firm` rows, agency staff in their agency's group, a firm user's
`view_firm` row. The statistics' tally (`reporting/figures.py`), which the services keep by
noting each change, is recounted whole once the rows are in. Not generated: checklist answers
(the pages read them per inspection, by index), audit events, and the evidence objects
themselves (the rows name keys no store holds).

Same scale and day, same data: every choice comes from one seeded `random.Random`, ids
included, and the dates count from today; only the rows made by the services get fresh ids.
"""

import json
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.db.models import JSONField
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone

from contractors.checklists.models import ChecklistItem
from contractors.checklists.services import do_install_default_checklist
from contractors.evidence.models import Evidence
from contractors.hazards.models import Hazard, HazardCategory, HazardLevel
from contractors.inspections.models import Inspection
from contractors.register.models import KEY_PLACE_KINDS, Firm, KeyCategory
from contractors.register.uscc import make_uscc
from contractors.tenancy.models import (
    Assignment,
    FirmGroupObjectPermission,
    FirmUserObjectPermission,
)
from contractors.tenancy.permissions import FIRM_PERMISSIONS
from contractors.tenancy.services import do_create_agency, do_create_contract
from demo.district import (
    AGENCIES,
    FIRM_SERIALS,
    INDUSTRIES,
    KEY_INDUSTRY,
    ROADS,
    TRADE_FIRST,
    TRADE_SECOND,
    agency_share,
    build_bureau,
    build_parks,
    build_streets_and_grids,
    contract_quota,
    key_unit_counts,
    load_reference,
    mobile_number,
    person_name,
)
from documents.drafting.services import do_install_default_templates
from documents.models import (
    DEFAULT_NUMBER_FORMAT,
    NUMBER_PREFIXES,
    DocType,
    Document,
    DocumentCounter,
)
from portal.models import Membership, Role, User
from reporting.figures import do_recount_figures

# The report's year (2020, to the end of October), rounded as the issue states it.
FIRMS = 5000
INSPECTIONS = 27_000
HAZARDS = 59_000
DOCUMENTS = 15_000
# The report's hazards per category and its rectified hazards: the mix every scale keeps.
REPORT_CATEGORIES = {
    HazardCategory.PRODUCTION: 11856,
    HazardCategory.FIRE: 36140,
    HazardCategory.SPECIAL_EQUIPMENT: 867,
    HazardCategory.OCCUPATIONAL_HEALTH: 171,
    HazardCategory.OTHER: 9817,
}
REPORT_RECTIFIED = 56332
# Not in the report: how the documents split by type, how many hazards are major, how much
# work still waits for the bureau's review (the latest inspections), who has a login.
DOCUMENT_MIX = {
    DocType.RECTIFICATION_ORDER: 0.6,
    DocType.INSPECTION_RECORD: 0.3,
    DocType.REINSPECTION_OPINION: 0.1,
}
MAJOR_SHARE = 0.02
AWAITING_REVIEW_SHARE = 0.01
CAMPAIGN_SHARE = 0.15
CAMPAIGN = "{year}年工贸行业安全生产专项整治"
INSPECTORS_PER_AGENCY = 10
FIRMS_PER_FIRM_USER = 20
RECTIFICATION_DAYS = 30
PASSWORD = "bench-pass-2021"
EXECUTE_BATCH = 1000


@dataclass
class District:
    """What the measurements need to know of the generated data."""

    scale: float
    bureau: object
    agencies: list
    contracts: list
    admin: object
    reviewer: object
    inspectors: list  # per agency, in agency order
    inspections: list  # per agency: some submitted inspection ids of its firms
    counts: dict = field(default_factory=dict)
    seconds: float = 0.0  # the whole generation, the recount of the tally included
    recount_seconds: float = 0.0

    def describe(self):
        figures = ", ".join(f"{count} {name}" for name, count in self.counts.items())
        return (
            f"scale {self.scale:g} generated in {self.seconds:.1f} s"
            f" ({self.recount_seconds:.1f} s of it recounting the statistics tally): {figures}"
        )


def scaled(count, scale):
    return max(1, round(count * scale))


def dealt(counts, rng):
    """Every key of `counts` as often as its count, in random order."""
    cards = [key for key, count in counts.items() for _ in range(count)]
    rng.shuffle(cards)
    return cards


def proportional(total, weights):
    """`total` split in the proportions of `weights` (largest remainder), keys in order."""
    whole = sum(weights.values())
    counts = {key: int(total * weight / whole) for key, weight in weights.items()}
    by_remainder = sorted(weights, key=lambda key: -(total * weights[key] / whole % 1))
    for key in by_remainder[: total - sum(counts.values())]:
        counts[key] += 1
    return counts


class Loader:
    """Rows into one table at a time: COPY on PostgreSQL, executemany elsewhere. The columns a
    load does not name get their field's default, worked out once for the whole load."""

    def __init__(self, now):
        self.now = now
        self.rows = {}

    def insert(self, model, columns, rows):
        """Insert `rows` (tuples of values for `columns`, a space-separated list of the
        fields' attnames) into `model`'s table; the number of rows."""
        meta = model._meta
        given = [meta.get_field(name) for name in columns.split()]
        rest = [
            f for f in meta.concrete_fields if f not in given and not isinstance(f, AutoFieldMixin)
        ]
        constants = tuple(self._default(f) for f in rest)
        fields = given + rest
        quoted = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        table = connection.ops.quote_name(meta.db_table)
        if connection.vendor == "postgresql":
            count = self._copy(table, quoted, fields, rows, constants)
        else:
            count = self._execute_many(table, quoted, fields, rows, constants)
        self.rows[meta.db_table] = self.rows.get(meta.db_table, 0) + count
        return count

    def _default(self, field):
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            return self.now
        return field.get_default()

    def _copy(self, table, quoted, fields, rows, constants):
        as_json = [i for i, f in enumerate(fields) if isinstance(f, JSONField)]
        count = 0
        with connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    row = (*row, *constants)
                    if as_json:
                        row = list(row)
                        for i in as_json:
                            row[i] = json.dumps(row[i], ensure_ascii=False)
                    copy.write_row(row)
                    count += 1
        return count

    def _execute_many(self, table, quoted, fields, rows, constants):
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {table} ({quoted}) VALUES ({marks})"
        count, batch = 0, []
        with connection.cursor() as cursor:
            for row in rows:
                values = (*row, *constants)
                batch.append(
                    [f.get_db_prep_save(v, connection) for f, v in zip(fields, values, strict=True)]
                )
                if len(batch) == EXECUTE_BATCH:
                    cursor.executemany(sql, batch)
                    count, batch = count + len(batch), []
            if batch:
                cursor.executemany(sql, batch)
                count += len(batch)
        return count


class Generator:
    def __init__(self, scale):
        self.scale = scale
        self.rng = random.Random(f"bench/{scale}")
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.year_start = self.today.replace(month=1, day=1)
        self.zone = timezone.get_current_timezone()
        self.load = Loader(self.now)

    def uuid(self):
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def moment(self, day, hour=None):
        """An aware time on `day` during working hours, never later than now."""
        at = datetime.combine(
            day,
            clock(hour if hour is not None else self.rng.randint(8, 17), self.rng.randint(0, 59)),
            tzinfo=self.zone,
        )
        return min(at, self.now)

    # --- Register, agencies, people -----------------------------------------------------------

    def register(self):
        reference = load_reference()
        self.bureau = build_bureau(reference)
        self.streets, self.grids = build_streets_and_grids(self.bureau, reference)
        self.parks = build_parks(self.bureau, reference)
        count = scaled(FIRMS, self.scale)
        split = {key: scaled(n, self.scale) for key, n in reference["key_supervision"].items()}
        key_units = dealt(key_unit_counts(count, split), self.rng)
        key_units += [KeyCategory.NONE] * (count - len(key_units))
        self.rng.shuffle(key_units)
        serials = self.rng.sample(FIRM_SERIALS, count)
        industries = list(INDUSTRIES)
        weights = [INDUSTRIES[name][1] for name in industries]
        self.firms = []  # (id, street id, name)
        rows = []
        for serial, key_category in zip(serials, key_units, strict=True):
            grid = self.rng.choice(self.grids)
            key_kind = ""
            if key_category == KeyCategory.KEY_PLACE:
                key_kind = self.rng.choice(KEY_PLACE_KINDS)
            industry = KEY_INDUSTRY.get(key_kind) or KEY_INDUSTRY.get(key_category)
            industry = industry or self.rng.choices(industries, weights)[0]
            words = INDUSTRIES[industry][0]
            name = (
                f"上海{self.rng.choice(TRADE_FIRST)}{self.rng.choice(TRADE_SECOND)}"
                f"{self.rng.choice(words)}有限公司"
            )
            firm_id = self.uuid()
            self.firms.append((firm_id, grid.street_id, name))
            rows.append(
                (
                    firm_id,
                    self.bureau.pk,
                    make_uscc(region=self.bureau.region_code, serial=serial),
                    name,
                    f"上海市普陀区{self.rng.choice(ROADS)}{self.rng.randint(1, 1999)}号",
                    grid.street_id,
                    grid.pk,
                    self.rng.choice(self.parks).pk if self.rng.random() < 0.1 else None,
                    industry,
                    key_category,
                    key_kind,
                    person_name(self.rng),
                    person_name(self.rng),
                    mobile_number(self.rng),
                )
            )
        self.load.insert(
            Firm,
            (
                "id bureau_id uscc name address street_id grid_id park_id industry key_category"
                " key_kind legal_representative contact phone"
            ),
            rows,
        )

    def agencies(self):
        """The three agencies with a contract each for the year, each covering its streets."""
        self.agency_rows, self.contracts, self.agency_firms = [], [], []
        shares = agency_share(self.streets)
        for number, ((name, qualification), share) in enumerate(
            zip(AGENCIES, shares, strict=True), start=1
        ):
            agency = do_create_agency(
                actor=None,
                bureau=self.bureau,
                name=name,
                uscc=make_uscc(region=self.bureau.region_code, serial=99_000_000 + number),
                qualification=qualification,
            )
            streets = {street.pk for street in share}
            held = [firm for firm in self.firms if firm[1] in streets]
            self.contracts.append(
                do_create_contract(
                    actor=None,
                    bureau=self.bureau,
                    agency=agency,
                    number=f"{self.bureau.short_name}应急服〔{self.today.year}〕{number}号",
                    period_start=self.year_start,
                    period_end=self.year_start.replace(month=12, day=31),
                    quota=contract_quota(len(held)),
                )
            )
            self.agency_rows.append(agency)
            self.agency_firms.append(held)

    def people(self):
        encoded = make_password(PASSWORD)
        users, memberships, groups = [], [], []

        def person(username, role, *, agency=None, firm=None, staff=False):
            user_id = self.uuid()
            users.append(
                (
                    user_id,
                    username,
                    encoded,
                    person_name(self.rng),
                    f"31{self.rng.randrange(10**8):08d}" if agency else "",
                    staff,
                    staff,
                )
            )
            memberships.append(
                (user_id, role, self.bureau.pk, agency and agency.pk, firm and firm[0])
            )
            if agency is not None:
                groups.append((user_id, agency.group_id))
            return user_id

        self.admin = person("admin", Role.BUREAU_ADMIN, staff=True)
        self.reviewer = person("reviewer", Role.BUREAU_REVIEWER)
        self.inspectors = []
        per_agency = max(2, scaled(INSPECTORS_PER_AGENCY, self.scale))
        for number, agency in enumerate(self.agency_rows, start=1):
            person(f"a{number}-manager", Role.AGENCY_MANAGER, agency=agency)
            self.inspectors.append(
                [
                    person(f"a{number}-inspector{i}", Role.AGENCY_INSPECTOR, agency=agency)
                    for i in range(1, per_agency + 1)
                ]
            )
        firm_users = []
        for index, firm in enumerate(self.firms):
            if index % FIRMS_PER_FIRM_USER == 0:
                firm_users.append((person(f"firm-{index}", Role.FIRM_USER, firm=firm), firm[0]))
        self.load.insert(
            User,
            "id username password full_name certificate_number is_staff is_superuser",
            users,
        )
        self.load.insert(Membership, "user_id role bureau_id agency_id firm_id", memberships)
        self.load.insert(User.groups.through, "user_id group_id", groups)
        view = Permission.objects.get(content_type__app_label="contractors", codename="view_firm")
        self.load.insert(
            FirmUserObjectPermission,
            "user_id content_object_id permission_id",
            ((user_id, firm_id, view.pk) for user_id, firm_id in firm_users),
        )

    def assignments(self):
        """Every firm assigned to its agency's contract, shared out among its inspectors, with
        the agency group's permissions on it."""
        permissions = Permission.objects.filter(
            content_type__app_label="contractors", codename__in=FIRM_PERMISSIONS
        )
        assigned_at = self.moment(self.year_start, hour=9)
        assignments, granted = [], []
        for contract, agency, held, inspectors in zip(
            self.contracts, self.agency_rows, self.agency_firms, self.inspectors, strict=True
        ):
            for index, (firm_id, _street, _name) in enumerate(held):
                inspector = inspectors[index % len(inspectors)]
                assignments.append(
                    (self.uuid(), contract.pk, firm_id, inspector, assigned_at, self.admin)
                )
                granted += [(agency.group_id, p.pk, firm_id) for p in permissions]
        self.load.insert(
            Assignment,
            "id contract_id firm_id inspector_id assigned_at assigned_by_id",
            assignments,
        )
        self.load.insert(
            FirmGroupObjectPermission, "group_id permission_id content_object_id", granted
        )

    # --- The year's work ----------------------------------------------------------------------

    def inspections(self):
        """Submitted inspections spread over the year to date; the latest few still wait for
        the bureau's review, the rest are accepted."""
        checklist = do_install_default_checklist(actor=None, bureau=self.bureau)
        self.items = {}
        for item in ChecklistItem.objects.filter(checklist=checklist):
            self.items.setdefault(item.category, []).append(item)
        count = scaled(INSPECTIONS, self.scale)
        days = max(1, (self.today - self.year_start).days)
        holders = [
            (agency_index, firm)
            for agency_index, held in enumerate(self.agency_firms)
            for firm in held
        ]
        picked = sorted(
            (self.year_start + timedelta(days=self.rng.randrange(days)), self.rng.choice(holders))
            for _ in range(count)
        )
        waiting = len(picked) - scaled(INSPECTIONS * AWAITING_REVIEW_SHARE, self.scale)
        self.work = []  # (id, firm, agency index, inspected_on, accepted, inspector)
        rows, crews = [], []
        for index, (day, (agency_index, firm)) in enumerate(picked):
            inspection_id = self.uuid()
            crew = self.rng.sample(self.inspectors[agency_index], 2)
            accepted = index < waiting
            campaign = ""
            if self.rng.random() < CAMPAIGN_SHARE:
                campaign = CAMPAIGN.format(year=day.year)
            self.work.append((inspection_id, firm, agency_index, day, accepted, crew[0]))
            rows.append(
                (
                    inspection_id,
                    self.bureau.pk,
                    firm[0],
                    self.agency_rows[agency_index].pk,
                    self.contracts[agency_index].pk,
                    checklist.pk,
                    Inspection.Kind.CAMPAIGN if campaign else Inspection.Kind.ROUTINE,
                    campaign,
                    Inspection.Status.ACCEPTED if accepted else Inspection.Status.SUBMITTED,
                    day,
                    clock(9, 0),
                    clock(11, 30),
                    person_name(self.rng),
                    crew[0],
                    self.moment(day, hour=8),
                    self.moment(day, hour=12),
                )
            )
            crews += [(inspection_id, user_id) for user_id in crew]
        self.load.insert(
            Inspection,
            (
                "id bureau_id firm_id agency_id contract_id checklist_id kind campaign status"
                " inspected_on time_from time_to firm_representative created_by_id created_at"
                " submitted_at"
            ),
            rows,
        )
        self.load.insert(Inspection.inspectors.through, "inspection_id user_id", crews)

    def hazards(self):
        """The hazards in the report's category mix and rectification rate, each with its
        photo. Hazards of inspections still under review are open: nothing was ordered yet."""
        count = scaled(HAZARDS, self.scale)
        categories = dealt(proportional(count, REPORT_CATEGORIES), self.rng)
        owners = sorted(self.rng.randrange(len(self.work)) for _ in range(count))
        verified = round(count * REPORT_RECTIFIED / sum(REPORT_CATEGORIES.values()))
        closable = [i for i, owner in enumerate(owners) if self.work[owner][4]]
        closed = set(self.rng.sample(closable, min(verified, len(closable))))
        self.hazards_of = {}
        rows, photos = [], []
        for index, (owner, category) in enumerate(zip(owners, categories, strict=True)):
            inspection_id, firm, agency_index, day, _accepted, inspector = self.work[owner]
            item = self.rng.choice(self.items[category])
            deadline = day + timedelta(days=RECTIFICATION_DAYS)
            hazard_id = self.uuid()
            self.hazards_of.setdefault(owner, []).append(hazard_id)
            rectified_at = verified_at = None
            if index in closed:
                status = Hazard.Status.VERIFIED
                rectified_at = self.moment(day + timedelta(days=self.rng.randint(1, 25)))
                verified_at = self.moment(day + timedelta(days=self.rng.randint(26, 35)))
            elif deadline >= self.today:
                status = Hazard.Status.OPEN
            elif self.rng.random() < 0.7:
                status = Hazard.Status.OVERDUE
            else:
                status = Hazard.Status.RECTIFIED
                rectified_at = self.moment(deadline - timedelta(days=1))
            rows.append(
                (
                    hazard_id,
                    inspection_id,
                    firm[0],
                    item.pk,
                    category,
                    HazardLevel.MAJOR if self.rng.random() < MAJOR_SHARE else HazardLevel.GENERAL,
                    item.text,
                    f"{self.rng.randint(1, 6)}号楼{self.rng.randint(1, 5)}层",
                    item.legal_basis,
                    item.requirement,
                    deadline,
                    status,
                    rectified_at,
                    verified_at,
                    inspector if verified_at else None,
                    self.moment(day, hour=10),
                    verified_at or rectified_at or self.moment(day, hour=10),
                )
            )
            photos.append(self._photo(hazard_id, inspection_id, agency_index, day, inspector))
        self.load.insert(
            Hazard,
            (
                "id inspection_id firm_id item_id category level description location legal_basis"
                " requirement deadline status rectified_at verified_at verified_by_id created_at"
                " updated_at"
            ),
            rows,
        )
        self.load.insert(
            Evidence,
            (
                "id bureau_id inspection_id hazard_id status key filename content_type size"
                " sha256 thumbnail_key taken_at uploaded_by_id created_at expires_at confirmed_at"
            ),
            photos,
        )

    def _photo(self, hazard_id, inspection_id, agency_index, day, inspector):
        key = (
            f"bureau/{self.bureau.pk}/agency/{self.agency_rows[agency_index].pk}/"
            f"inspection/{inspection_id}/{self.uuid()}.jpg"
        )
        taken = self.moment(day, hour=10)
        return (
            self.uuid(),
            self.bureau.pk,
            inspection_id,
            hazard_id,
            Evidence.Status.CONFIRMED,
            key,
            f"IMG_{self.rng.randrange(10**4):04d}.jpg",
            "image/jpeg",
            self.rng.randint(800_000, 4_000_000),
            f"{self.rng.getrandbits(256):064x}",
            key + ".thumb.jpg",
            taken,
            inspector,
            taken,
            taken + timedelta(hours=1),
            taken,
        )

    def documents(self):
        """Rectification orders for inspections with hazards, inspection records, and
        re-inspection opinions on signed orders; signed and numbered in approval order, except
        those of inspections still under review."""
        templates = {
            template.doc_type: template
            for template in do_install_default_templates(actor=None, bureau=self.bureau)
        }
        counts = proportional(scaled(DOCUMENTS, self.scale), DOCUMENT_MIX)
        with_hazards = sorted(self.hazards_of)
        orders = self.rng.sample(
            with_hazards, min(counts[DocType.RECTIFICATION_ORDER], len(with_hazards))
        )
        records = self.rng.sample(range(len(self.work)), counts[DocType.INSPECTION_RECORD])
        signed_orders = [owner for owner in orders if self.work[owner][4]]
        opinions = self.rng.sample(
            signed_orders, min(counts[DocType.REINSPECTION_OPINION], len(signed_orders))
        )
        drafts = []  # (id, doc type, owner, the order it follows up or None)
        order_ids = {}
        for doc_type, owners in (
            (DocType.RECTIFICATION_ORDER, orders),
            (DocType.INSPECTION_RECORD, records),
        ):
            for owner in owners:
                document_id = self.uuid()
                if doc_type == DocType.RECTIFICATION_ORDER:
                    order_ids[owner] = document_id
                drafts.append((document_id, doc_type, owner, None))
        drafts += [
            (self.uuid(), DocType.REINSPECTION_OPINION, owner, order_ids[owner])
            for owner in opinions
        ]
        # Numbers follow the approval order, per type, as the counter would have given them.
        approvals = {}
        for document_id, doc_type, owner, _order in drafts:
            day = self.work[owner][3]
            if self.work[owner][4]:
                later = 40 if doc_type == DocType.REINSPECTION_OPINION else 3
                approvals[document_id] = self.moment(day + timedelta(days=later))
        sequences, last = {}, {}
        for document_id, doc_type, _owner, _order in sorted(
            (draft for draft in drafts if draft[0] in approvals),
            key=lambda draft: (approvals[draft[0]], str(draft[0])),
        ):
            last[doc_type] = last.get(doc_type, 0) + 1
            sequences[document_id] = last[doc_type]
        rows, links = [], []
        for document_id, doc_type, owner, order in drafts:
            inspection_id, firm, agency_index, day, _accepted, inspector = self.work[owner]
            approved_at = approvals.get(document_id)
            number, sequence = "", None
            if approved_at is not None:
                sequence = sequences[document_id]
                number = DEFAULT_NUMBER_FORMAT.format(
                    bureau=self.bureau.short_name,
                    prefix=NUMBER_PREFIXES[doc_type],
                    year=approved_at.year,
                    sequence=sequence,
                )
            rows.append(
                (
                    document_id,
                    self.bureau.pk,
                    doc_type,
                    inspection_id,
                    firm[0],
                    self.agency_rows[agency_index].pk,
                    order,
                    1,
                    Document.Status.APPROVED if approved_at else Document.Status.PENDING,
                    templates[doc_type].pk,
                    {
                        "document": {"title": str(DocType(doc_type).label), "number": number},
                        "firm": {"name": firm[2]},
                        "agency": {"name": self.agency_rows[agency_index].name},
                    },
                    inspector,
                    self.moment(day, hour=12),
                    approved_at and self.reviewer,
                    approved_at,
                    approved_at and approved_at.year,
                    sequence,
                    number,
                    approved_at and self.reviewer,
                    approved_at,
                )
            )
            if doc_type == DocType.RECTIFICATION_ORDER:
                links += [(document_id, hazard_id) for hazard_id in self.hazards_of[owner]]
        self.load.insert(
            Document,
            (
                "id bureau_id doc_type inspection_id firm_id agency_id order_id version status"
                " template_id context drafted_by_id created_at reviewed_by_id reviewed_at year"
                " sequence number approved_by_id approved_at"
            ),
            rows,
        )
        self.load.insert(Document.hazards.through, "document_id hazard_id", links)
        DocumentCounter.objects.bulk_create(
            DocumentCounter(
                bureau=self.bureau, doc_type=doc_type, year=self.today.year, last_sequence=n
            )
            for doc_type, n in last.items()
        )

    def district(self):
        named = [self.admin, self.reviewer, *sum(self.inspectors, [])]
        users = {user.pk: user for user in User.objects.filter(pk__in=named)}
        samples = [[] for _ in self.agency_rows]
        for inspection_id, _firm, agency_index, _day, accepted, _inspector in self.work:
            if accepted and len(samples[agency_index]) < 20:
                samples[agency_index].append(inspection_id)
        counts = {
            "firms": len(self.firms),
            "inspections": len(self.work),
            "hazards": self.load.rows[Hazard._meta.db_table],
            "documents": self.load.rows[Document._meta.db_table],
            "evidence rows": self.load.rows[Evidence._meta.db_table],
            "permission rows": self.load.rows[FirmGroupObjectPermission._meta.db_table]
            + self.load.rows[FirmUserObjectPermission._meta.db_table],
            "users": self.load.rows[User._meta.db_table],
        }
        return District(
            scale=self.scale,
            bureau=self.bureau,
            agencies=self.agency_rows,
            contracts=self.contracts,
            admin=users[self.admin],
            reviewer=users[self.reviewer],
            inspectors=[[users[pk] for pk in inspectors] for inspectors in self.inspectors],
            inspections=samples,
            counts=counts,
        )


def generate(scale):
    """Generate the district at `scale` into the current (empty) database; the District, with
    the counts and the seconds it took."""
    started = time.perf_counter()
    generator = Generator(scale)
    with transaction.atomic():
        generator.register()
        generator.agencies()
        generator.people()
        generator.assignments()
        generator.inspections()
        generator.hazards()
        generator.documents()
        district = generator.district()
    # The rows bypassed the services, which note what the statistics must recount; the tally
    # is recounted whole instead, before the VACUUM ANALYZE that must cover its table too.
    recount_started = time.perf_counter()
    do_recount_figures(bureau=district.bureau)
    district.recount_seconds = time.perf_counter() - recount_started
    if connection.vendor == "postgresql":
        # Freshly loaded tables have neither statistics for the planner nor a visibility map
        # for index-only scans; a database in use has both (autovacuum). VACUUM cannot run in
        # a caller's transaction (a test's): there, statistics alone.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE")
    district.seconds = time.perf_counter() - started
    return district

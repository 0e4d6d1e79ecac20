"""Twenty reviewers approving at the same moment get numbers 1 to 20, each once: the counter
row lock, not luck (PostgreSQL; SQLite has no row locks to prove anything with)."""

import threading

import pytest
from django.db import connection

from documents.models import DocType, Document
from documents.review.services import do_approve_document
from tests.documents.factories import submitted_inspection

APPROVALS = 20


@pytest.mark.django_db(transaction=True)
def test_twenty_racing_approvals_take_numbers_1_to_20_once_each(cast, local_storage):
    if connection.vendor != "postgresql":
        pytest.skip("needs row locks: run on PostgreSQL (DATABASE_URL=postgres://...)")
    _inspection, drafted = submitted_inspection(cast, hazards=0)
    first = drafted[DocType.INSPECTION_RECORD]
    # Twenty pending versions of one series stand for twenty waiting documents.
    pending = [first] + [
        Document.objects.create(
            bureau=first.bureau,
            doc_type=first.doc_type,
            inspection=first.inspection,
            firm=first.firm,
            agency=first.agency,
            version=version,
            template=first.template,
            context=first.context,
            drafted_by=first.drafted_by,
        )
        for version in range(2, APPROVALS + 1)
    ]
    barrier = threading.Barrier(APPROVALS, timeout=30)
    errors = []

    def approve(document):
        try:
            barrier.wait()
            do_approve_document(actor=cast.reviewer, document=document)
        except Exception as error:  # a thread cannot fail the test; the assertion below does
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(document,)) for document in pending]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    sequences = sorted(
        Document.objects.filter(status=Document.Status.APPROVED).values_list("sequence", flat=True)
    )
    assert sequences == list(range(1, APPROVALS + 1))

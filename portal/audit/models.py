from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditChainHead(models.Model):
    """The last link of one chain of audit events: a bureau's, or the chain of the events that
    belong to no bureau (`chain` is the bureau's id, or empty).

    A writer locks its chain's head before reading the previous hash, so two concurrent writers
    cannot both link to the same event; and since the head outlives the events, a row deleted
    from the end of a chain still leaves the head pointing past it (`portal/audit/chain.py`)."""

    chain = models.CharField(max_length=36, unique=True)
    sequence = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("审计链")
        verbose_name_plural = _("审计链")

    def __str__(self):
        return f"{self.chain or '-'} #{self.sequence}"

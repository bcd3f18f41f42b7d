"""The indicators' figures counted ahead: per registry and Bangkok day, and per month.

A ``DayTally`` row holds the figures of the lines one registry registered on one day: copies
sent by each channel, sent letters and those validly signed, arrivals by the channel they came
by, the service timings in their buckets and the circulars' read receipts (the columns below;
``tallies.COLUMNS`` names them). A ``MonthTally`` row is the sum of the day rows of its month,
rewritten with them. A letter changed since its days were counted is marked (``TallyDirty``,
written in the same transaction as the change); readers count the days of marked letters
again from the registers, so the figures are exact whether or not the worker has caught up
(``tallies``).
"""

from __future__ import annotations

from django.db import models

from saraban.letters.models import Registry


class _Tally(models.Model):
    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()  # a Bangkok day; for a month, its first day
    sent_saraban = models.IntegerField(default=0)
    sent_email = models.IntegerField(default=0)
    sent_ecms = models.IntegerField(default=0)
    sent_post = models.IntegerField(default=0)
    sent_hand = models.IntegerField(default=0)
    sent_fax = models.IntegerField(default=0)
    sent_unrecorded = models.IntegerField(default=0)
    letters = models.IntegerField(default=0)
    signed = models.IntegerField(default=0)
    recv_saraban = models.IntegerField(default=0)
    recv_email = models.IntegerField(default=0)
    recv_ecms = models.IntegerField(default=0)
    recv_paper = models.IntegerField(default=0)
    ttr_total = models.IntegerField(default=0)
    ttr_done = models.IntegerField(default=0)
    ttr_1h = models.IntegerField(default=0)
    ttr_1d = models.IntegerField(default=0)
    ttr_3d = models.IntegerField(default=0)
    ttr_7d = models.IntegerField(default=0)
    tfa_total = models.IntegerField(default=0)
    tfa_done = models.IntegerField(default=0)
    tfa_1h = models.IntegerField(default=0)
    tfa_1d = models.IntegerField(default=0)
    tfa_3d = models.IntegerField(default=0)
    tfa_7d = models.IntegerField(default=0)
    ttc_total = models.IntegerField(default=0)
    ttc_done = models.IntegerField(default=0)
    ttc_1h = models.IntegerField(default=0)
    ttc_1d = models.IntegerField(default=0)
    ttc_3d = models.IntegerField(default=0)
    ttc_7d = models.IntegerField(default=0)
    circ_letters = models.IntegerField(default=0)
    circ_recipients = models.IntegerField(default=0)
    circ_ack = models.IntegerField(default=0)

    class Meta:
        abstract = True


class DayTally(_Tally):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["registry", "day"],
                                               name="daytally_unique")]
        indexes = [models.Index(fields=["day", "registry"], name="daytally_day")]


class MonthTally(_Tally):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["registry", "day"],
                                               name="monthtally_unique")]
        indexes = [models.Index(fields=["day", "registry"], name="monthtally_day")]


class TallyDirty(models.Model):
    """A letter whose registration days are to be counted again (no foreign key, like
    ``search.SearchDirty``: the mark is cheap and outlives nothing)."""

    letter_id = models.BigIntegerField(primary_key=True)
    marked_at = models.DateTimeField()

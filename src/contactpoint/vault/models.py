from __future__ import annotations

from django.db import models


class DataKey(models.Model):
    """A child's data key, wrapped by a key-encrypting key of the key ring. Deleting this row shreds the child:
    every ciphertext of theirs, in the database or in any backup, can no longer be opened."""

    child = models.OneToOneField("children.Child", primary_key=True, on_delete=models.CASCADE,
                                 related_name="data_key")
    kek_id = models.CharField(max_length=40, db_index=True)
    wrapped = models.BinaryField()

    class Meta:
        db_table = "vault_data_key"


class IndexEntry(models.Model):
    """One blind-index token of one child (see ``contactpoint.vault.blindindex``)."""

    pk = models.CompositePrimaryKey("token", "child")
    token = models.BigIntegerField()
    child = models.ForeignKey("children.Child", on_delete=models.CASCADE, related_name="+")

    class Meta:
        db_table = "vault_index"

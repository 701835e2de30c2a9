"""moto_server, with one change to moto's DynamoDB: what a transaction keeps to roll back.

moto (5.x) takes a deep copy of every table a TransactWriteItems call names before it runs, and puts the copies in
the tables' place when the transaction fails. A copy of a whole table, its stream's records included, costs time in
proportion to the table: on the local stack, where every order is stored in a transaction, each order took longer
than the one before (0.08 s per transaction with 500 items, 0.6 s with 2,000). And the copy replaced the table's
stream shard, so a stream iterator handed out before a failed transaction read a shard that got no more records.

Here the transaction keeps a copy of the items it names (as they were, or their absence) and the length of each
table's stream, and a failed transaction puts those items back and drops the stream records it wrote: the same
outcome as moto's (a cancelled transaction changes nothing), in time proportional to the transaction. Everything
else is moto as installed. Run it as moto_server: python3 scripts/local/moto_server.py -H localhost -p 5000.
"""

import copy
import sys
import threading

from moto.dynamodb import models as backend_module
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

_state = threading.local()


class _TableCopyShim:
    """The `copy` module, as moto's DynamoDB backend sees it: a table named by a transaction is not copied."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        if getattr(_state, "in_transaction", False) and isinstance(value, Table):
            return value  # the transaction keeps its items itself (transact_write_items below)
        return copy.deepcopy(value, memo)


def _key_of(table, op_type, op):
    """The (hash, range) key an operation names, or None when it names none that the table could hold."""
    attrs = op.get("Item") if op_type == "Put" else op.get("Key")
    if not isinstance(attrs, dict) or table.hash_key_attr not in attrs:
        return None
    range_value = None
    if table.range_key_attr is not None:
        if table.range_key_attr not in attrs:
            return None
        range_value = DynamoType(attrs[table.range_key_attr])
    return DynamoType(attrs[table.hash_key_attr]), range_value


_original_transact_write_items = DynamoDBBackend.transact_write_items


def transact_write_items(self, transact_items):
    kept = []  # (table, hash, range, the item as it was or None)
    streams = {}  # id(table) -> (its stream shard, the number of records it had)
    for entry in transact_items if isinstance(transact_items, list) else []:
        if not isinstance(entry, dict) or len(entry) != 1:
            continue
        op_type, op = next(iter(entry.items()))
        table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
        if table is None:
            continue
        key = _key_of(table, op_type, op)
        if key is None:
            continue
        try:
            current = table.get_item(*key)
        except Exception:  # a key the table cannot hold: moto rejects the transaction, nothing to keep
            continue
        kept.append((table, key[0], key[1], copy.deepcopy(current)))
        if table.stream_shard is not None and id(table) not in streams:
            streams[id(table)] = (table.stream_shard, len(table.stream_shard.items))
    _state.in_transaction = True
    try:
        return _original_transact_write_items(self, transact_items)
    except Exception:
        for table, hash_value, range_value, item in reversed(kept):
            if range_value is None:
                if item is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = item
            elif item is None:
                table.items.get(hash_value, {}).pop(range_value, None)
                if hash_value in table.items and not table.items[hash_value]:
                    del table.items[hash_value]
            else:
                table.items[hash_value][range_value] = item
        for shard, length in streams.values():
            del shard.items[length:]
        raise
    finally:
        _state.in_transaction = False


backend_module.copy = _TableCopyShim()
DynamoDBBackend.transact_write_items = transact_write_items

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main())

"""moto_server, with changes to moto's DynamoDB transactions and Step Functions executions.

DynamoDB: what a transaction keeps to roll back. moto (5.x) takes a deep copy of every table a TransactWriteItems
call names before it runs, and puts the copies in the tables' place when the transaction fails. A copy of a whole
table, its stream's records included, costs time in proportion to the table: on the local stack, where every order
is stored in a transaction, each order took longer than the one before (0.08 s per transaction with 500 items, 0.6 s
with 2,000). And the copy replaced the table's stream shard, so a stream iterator handed out before a failed
transaction read a shard that got no more records.

moto also let two threads' conditional writes to one item both pass their conditions; here DynamoDB's writes run
one at a time, as DynamoDB's transactions are serialisable and its conditional writes atomic.

Here the transaction keeps a copy of the items it names (as they were, or their absence) and the length of each
table's stream, and a failed transaction puts those items back and drops the stream records it wrote: the same
outcome as moto's (a cancelled transaction changes nothing), in time proportional to the transaction.

Step Functions (moto 5.2.1): executions that run, their Lambda tasks answered by an endpoint of ours.
- moto runs executions (its ASL interpreter, moto/stepfunctions/parser) only while its config
  {"stepfunctions": {"execute_state_machine": true}} is set, and a state machine created before the switch stays in
  the other backend, which never runs one. Here the switch is on from start-up, before the server serves.
- The interpreter sends a Lambda task (arn:aws:states:::lambda:invoke, or a function ARN as Resource) to moto's own
  Lambda, which runs functions only in Docker. Here, when MOTO_LAMBDA_ENDPOINT is set (read at each call, e.g.
  http://localhost:41234), a Lambda task calls Invoke there instead: POST /2015-03-31/functions/{name}/invocations,
  {name} the FunctionName as the state gives it (a name, or an ARN URL-encoded), the task's payload as the body;
  answered 200 with the result, or 200 with X-Amz-Function-Error: Unhandled and {"errorType", "errorMessage"} (the
  task then fails with errorType as its Error, which Retry and Catch match). Every other service stays moto's.
- Each StartExecution deep-copies the state machine, which reaches its earlier executions (a running thread, its
  locks) and its backend: every StartExecution after the first answered 500, "cannot pickle '_thread.RLock'"
  (getmoto/moto#10077). Here a state machine's copy has no executions and shares the backend.
- A CloudFormation AWS::StepFunctions::StateMachine was created in the non-executing backend (it could then not be
  described or run), and from DefinitionString only. Here it is created, updated and deleted in the backend the API
  answers from, from DefinitionString or Definition, with DefinitionSubstitutions, LoggingConfiguration and
  TracingConfiguration.
CloudFormation: a Number parameter a nested stack is given. moto parses a Number it is given with int() first, which
truncates a value that is a float already (0.9 → 0): a parent stack passes its own resolved Number parameters as
floats, so a nested stack got PaymentSuccessRate 0. Here a float given to a stack is passed as its text, which
moto's parser reads whole.
SQS FIFO queues: AWS drops a message whose deduplication id it accepted in the last 5 minutes, whether that message
is still in the queue or not; moto compares only with the messages still in the queue, so an order queued again
after its first copy was processed and deleted was queued twice. Here the ids a queue accepted are kept 5 minutes
(sends only: a message the redrive policy moves to a DLQ is not deduplicated), and a send within them answers with
the first message, as AWS does.
Speed, for a local stack that runs a workflow per order: moto lists its own package folder on disk for every
request, under the lock that routes requests (list_of_moto_modules), and the Step Functions interpreter builds a
new JSONPath parser (ply's yacc tables) for every path it reads (jsonpath_ng.parse): here the folder list is read
once and each path parsed once.
A patch whose moto internals are not as 5.2.1 has them is skipped, with a line on stderr: that part is moto as
installed, as is everything else. Run it as moto_server: python3 scripts/local/moto_server.py -H localhost -p 5000.
"""

import copy
import json
import os
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


# moto serves requests in threads and checks a write's condition, then writes, with nothing between two threads:
# two transactions (or conditional writes) on the same item could both pass their conditions. DynamoDB runs them
# one at a time (transactions are serialisable, a conditional write atomic): so do the writes here.
_writes = threading.RLock()


def _one_at_a_time(method):
    def write(self, *args, **kwargs):
        with _writes:
            return method(self, *args, **kwargs)

    write.__name__ = method.__name__
    return write


for _name in ("put_item", "update_item", "delete_item", "transact_write_items"):
    setattr(DynamoDBBackend, _name, _one_at_a_time(getattr(DynamoDBBackend, _name)))

# And the reads wait for the write in progress: moto applies a transaction's writes one by one and undoes them when
# a later one fails, so a read between the two saw items, and stream records, that DynamoDB never shows. Worse, a
# stream record's sequence number is its index in the shard: after the undo, the next record takes the number of
# the one dropped, and a reader that had read the dropped one went on AFTER it, skipping the new one for good.
for _name in ("get_item", "query", "scan", "batch_get_item", "transact_get_items"):
    setattr(DynamoDBBackend, _name, _one_at_a_time(getattr(DynamoDBBackend, _name)))
from moto.dynamodbstreams.models import DynamoDBStreamsBackend  # noqa: E402

for _name in ("get_shard_iterator", "get_records"):
    setattr(DynamoDBStreamsBackend, _name, _one_at_a_time(getattr(DynamoDBStreamsBackend, _name)))


def _patch(name, apply):
    """Applies one Step Functions patch; when moto's internals are not as 5.2.1 has them, says so and leaves moto."""
    try:
        apply()
    except Exception as error:  # an import, an attribute or a parameter 5.2.1 has, missing
        print(f"moto_server.py: {name} not patched, moto as installed ({error!r})", file=sys.stderr)


def _executions_on():
    """moto's switch for running executions, on before the server serves (moto reads it at each request)."""
    from moto.core.config import default_user_config
    from moto.stepfunctions.responses import get_backend  # noqa: F401 (the reader of the switch)

    sfn_config = default_user_config["stepfunctions"]
    if "execute_state_machine" not in sfn_config:
        raise KeyError("execute_state_machine")
    default_user_config["stepfunctions"] = {**sfn_config, "execute_state_machine": True}


def _lambda_tasks_to_endpoint():
    """The client a Lambda task invokes with: one for MOTO_LAMBDA_ENDPOINT when that is set, moto's otherwise."""
    import boto3
    from botocore.config import Config
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    moto_client_for = lambda_eval_utils.boto_client_for
    timeout = TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS

    clients = {}  # (region, endpoint) -> client: moto builds one per task, which costs more CPU than the call
    lock = threading.Lock()

    def boto_client_for(region, service, state_credentials=None):
        endpoint = os.environ.get("MOTO_LAMBDA_ENDPOINT")
        if service != "lambda" or not endpoint:
            return moto_client_for(region=region, service=service, state_credentials=state_credentials)
        with lock:  # a boto3 client may be shared by threads once built; building one is not thread-safe
            client = clients.get((region, endpoint))
            if client is None:
                client = clients[(region, endpoint)] = boto3.client(  # as moto's, at our endpoint
                    service_name="lambda",
                    region_name=region,
                    endpoint_url=endpoint,
                    aws_access_key_id="ak",
                    aws_secret_access_key="sk",
                    config=Config(
                        parameter_validation=False,
                        retries={"max_attempts": 0, "total_max_attempts": 1},
                        connect_timeout=timeout,
                        read_timeout=timeout,
                        max_pool_connections=50,
                    ),
                )
        return client

    lambda_eval_utils.boto_client_for = boto_client_for


def _copy_without_executions(self, memo):
    """A state machine's deep copy, as an execution takes it: without the executions, with the same backend."""
    clone = type(self).__new__(type(self))
    memo[id(self)] = clone
    for key, value in self.__dict__.items():
        if key == "executions":
            value = []  # live ones hold a thread and locks, which cannot be copied; the new run needs none
        elif key != "backend":  # the backend holds every state machine and its executions: shared, not copied
            value = copy.deepcopy(value, memo)
        clone.__dict__[key] = value
    return clone


def _executions_copy_state_machine_only():
    """Every state machine (and version) deep-copied as _copy_without_executions copies it."""
    from moto.stepfunctions.models import StateMachine, StateMachineInstance, StateMachineVersion

    if not (issubclass(StateMachine, StateMachineInstance) and issubclass(StateMachineVersion, StateMachineInstance)):
        raise TypeError("StateMachine and StateMachineVersion are not StateMachineInstances")
    StateMachineInstance.__deepcopy__ = _copy_without_executions


def _api_shape(value):
    """CloudFormation's property shape as the API's: each key's first letter in lower case (Level -> level)."""
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _api_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_api_shape(item) for item in value]
    return value


def _definition_of(properties):
    """The definition a template gives (DefinitionString, or Definition as JSON), DefinitionSubstitutions made."""
    definition = properties.get("DefinitionString")
    if definition is None and properties.get("Definition") is not None:
        definition = json.dumps(properties["Definition"])
    if definition is None:
        return None
    for key, value in (properties.get("DefinitionSubstitutions") or {}).items():
        text = json.dumps(value) if isinstance(value, bool) else str(value)
        definition = definition.replace("${" + key + "}", text)
    return definition


def _state_machines_in_active_backend():
    """CloudFormation's state machines in the backend the Step Functions API answers from (get_backend)."""
    import inspect

    from moto.stepfunctions.models import StateMachine, StepFunctionBackend
    from moto.stepfunctions.responses import get_backend
    from moto.stepfunctions.utils import cfn_to_api_tags

    for action in ("create", "update", "delete"):
        name = f"{action}_from_cloudformation_json"
        if name not in vars(StateMachine):
            raise AttributeError(f"StateMachine has no {name} of its own")
    for method, parameters in (
        (StepFunctionBackend.create_state_machine, ("loggingConfiguration", "tracingConfiguration")),
        (StepFunctionBackend.update_state_machine, ("logging_configuration", "tracing_configuration")),
    ):
        missing = set(parameters) - set(inspect.signature(method).parameters)
        if missing:
            raise TypeError(f"{method.__qualname__} has no {', '.join(sorted(missing))}")

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        return get_backend(account_id, region_name).create_state_machine(
            properties.get("StateMachineName", resource_name),
            _definition_of(properties) or "",
            properties.get("RoleArn", ""),
            tags=cfn_to_api_tags(properties.get("Tags", [])),
            loggingConfiguration=_api_shape(properties.get("LoggingConfiguration")),
            tracingConfiguration=_api_shape(properties.get("TracingConfiguration")),
        )

    def delete(cls, resource_name, cloudformation_json, account_id, region_name):
        get_backend(account_id, region_name).delete_state_machine(resource_name)

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        properties = cloudformation_json.get("Properties", {})
        if properties.get("StateMachineName", original_resource.name) != original_resource.name:  # a replacement
            new_resource = cls.create_from_cloudformation_json(
                properties.get("StateMachineName"), cloudformation_json, account_id, region_name
            )
            cls.delete_from_cloudformation_json(original_resource.arn, cloudformation_json, account_id, region_name)
            return new_resource
        backend = get_backend(account_id, region_name)
        state_machine = backend.update_state_machine(
            original_resource.arn,
            definition=_definition_of(properties),
            role_arn=properties.get("RoleArn"),
            logging_configuration=_api_shape(properties.get("LoggingConfiguration")),
            tracing_configuration=_api_shape(properties.get("TracingConfiguration")),
        )
        backend.tag_resource(state_machine.arn, cfn_to_api_tags(properties.get("Tags", [])))
        return state_machine

    StateMachine.create_from_cloudformation_json = classmethod(create)
    StateMachine.update_from_cloudformation_json = classmethod(update)
    StateMachine.delete_from_cloudformation_json = classmethod(delete)


def _number_parameters_whole():
    """ResourceMap.load_parameters reads a float given to a stack as its text (int() would truncate it)."""
    from moto.cloudformation.parsing import ResourceMap

    original = ResourceMap.load_parameters

    def load_parameters(self):
        self.input_parameters = {
            key: repr(value) if isinstance(value, float) else value for key, value in self.input_parameters.items()
        }
        return original(self)

    ResourceMap.load_parameters = load_parameters


def _modules_listed_once():
    """moto's list of its service folders, read from disk once instead of for every request."""
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules


def _json_paths_parsed_once():
    """The interpreter's JSONPath parses, memoised: a parsed path is only read afterwards."""
    import functools

    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    result_path.parse = functools.lru_cache(maxsize=4096)(result_path.parse)
    json_path.parse = functools.lru_cache(maxsize=4096)(json_path.parse)


def _fifo_deduplication_after_delete():
    """SQSBackend.send_message: a FIFO send with an id seen in the last 5 minutes is the first message, not a new one."""
    import hashlib

    from moto.sqs.models import DEDUPLICATION_TIME_IN_SECONDS, SQSBackend
    from moto.core.utils import unix_time_millis

    original = SQSBackend.send_message
    lock = threading.Lock()

    def send_message(self, queue_name, message_body, *args, **kwargs):
        queue = self.get_queue(queue_name)
        if not queue.fifo_queue:
            return original(self, queue_name, message_body, *args, **kwargs)
        deduplication_id = kwargs.get("deduplication_id", args[2] if len(args) > 2 else None)
        if deduplication_id is None and queue.attributes.get("ContentBasedDeduplication") == "true":
            deduplication_id = hashlib.sha256(message_body.encode("utf-8")).hexdigest()
        if deduplication_id is None:
            return original(self, queue_name, message_body, *args, **kwargs)
        with lock:
            seen = queue.__dict__.setdefault("_deduplication_seen", {})
            now = unix_time_millis()
            for key, (at, _) in list(seen.items()):
                if now - at >= DEDUPLICATION_TIME_IN_SECONDS * 1000:
                    del seen[key]
            if deduplication_id in seen:
                return seen[deduplication_id][1]
            message = original(self, queue_name, message_body, *args, **kwargs)
            seen[deduplication_id] = (now, message)
            return message

    SQSBackend.send_message = send_message


_patch("SQS FIFO deduplication after a delete (SQSBackend.send_message)", _fifo_deduplication_after_delete)
_patch("the service folders listed once (backends.list_of_moto_modules)", _modules_listed_once)
_patch("JSONPath parsed once (jsonpath_ng.parse in the Step Functions interpreter)", _json_paths_parsed_once)
_patch("Number parameters given to a nested stack (ResourceMap.load_parameters)", _number_parameters_whole)
_patch("Step Functions executions on (execute_state_machine)", _executions_on)
_patch("Lambda tasks to MOTO_LAMBDA_ENDPOINT (lambda_eval_utils.boto_client_for)", _lambda_tasks_to_endpoint)
_patch("a second StartExecution (StateMachineInstance.__deepcopy__, moto#10077)", _executions_copy_state_machine_only)
_patch("CloudFormation state machines (StateMachine.*_from_cloudformation_json)", _state_machines_in_active_backend)

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main())

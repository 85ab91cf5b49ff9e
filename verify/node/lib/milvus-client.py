"""The node checks' Milvus client (pymilvus, from the host to the Milvus pod's address):

  python3 milvus-client.py HOST create   a collection qy_verify: 1000 vectors (dim 8), flushed
                                         (segments in the object store), IVF_FLAT index, loaded
  python3 milvus-client.py HOST search   load it and search; the ids must be the ones `create`
                                         found (the data survived whatever happened in between)
  python3 milvus-client.py HOST list     list the collections (one authenticated call)
  python3 milvus-client.py HOST admin    list Milvus's users (an administrative call): prints
                                         "refused: ..." and exits 0 when the server refuses it
  python3 milvus-client.py HOST later    (check 10c, after its backup) 500 more entities in qy_verify,
                                         3 of them next to the search's query, flushed, and a
                                         second collection qy_verify_later (100, flushed); then
                                         a Strong search must find the new ones nearest
  python3 milvus-client.py HOST restored (check 10c, after its restore) qy_verify as `create` left
                                         it: 1000 entities flushed, 1000 by a Strong query and
                                         none of the later ids, qy_verify_later gone, searchable
  python3 milvus-client.py HOST rpc      one ShowCollections call on the raw gRPC stub (no
                                         pymilvus connect, which retries a refused login for
                                         minutes): exit 0 accepted, 3 refused for its credentials
                                         (Milvus's "auth check failure"), 1 anything else

With MILVUS_USER (and MILVUS_PASSWORD, from the environment: never argv) it logs in as that user,
as an application does when Milvus has authorization on.

Prints one line; exit 0 on success. Deterministic data (seeded), so both runs agree.
"""
import os
import random
import sys

from pymilvus import Collection, CollectionSchema, DataType, FieldSchema, connections, utility

NAME = "qy_verify"
LATER = "qy_verify_later"


def schema():
    return CollectionSchema([
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("v", DataType.FLOAT_VECTOR, dim=8),
    ])


def query():
    rng = random.Random(2)
    return [[rng.random() for _ in range(8)]]


def rpc(host, user, password):
    import base64

    import grpc
    from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc

    metadata = []
    if user or password:
        metadata.append(("authorization", base64.b64encode(f"{user}:{password}".encode()).decode()))
    with grpc.insecure_channel(f"{host}:19530") as channel:
        grpc.channel_ready_future(channel).result(timeout=20)
        stub = milvus_pb2_grpc.MilvusServiceStub(channel)
        try:
            r = stub.ShowCollections(milvus_pb2.ShowCollectionsRequest(), metadata=metadata, timeout=10)
        except grpc.RpcError as e:
            details = (e.details() or "").split(":")[0]
            code = 3 if "auth check failure" in (e.details() or "") else 1
            # The first clause only: Milvus 2.3 echoes the password it was given after it.
            print(f"refused: {e.code().name} {details}")
            sys.exit(code)
    if r.status.error_code != 0:
        print(f"refused: error_code {r.status.error_code} {r.status.reason.split(':')[0]}")
        sys.exit(3 if "auth" in r.status.reason else 1)
    print(f"ok rpc: ShowCollections answered ({len(r.collection_names)} collections)")


def main():
    host, mode = sys.argv[1], sys.argv[2]
    user = os.environ.get("MILVUS_USER", "")
    if mode == "rpc":
        rpc(host, user, os.environ.get("MILVUS_PASSWORD", ""))
        return
    if user:
        connections.connect(host=host, port="19530", timeout=60, user=user, password=os.environ.get("MILVUS_PASSWORD", ""))
    else:
        connections.connect(host=host, port="19530", timeout=60)
    if mode == "admin":
        try:
            names = utility.list_usernames()
        except Exception as e:  # pymilvus raises MilvusException with the server's reason
            print(f"refused: {type(e).__name__}: {e}".replace("\n", " "))
            return
        print(f"FAIL admin: listed {len(names)} users")
        sys.exit(1)
    if mode == "list":
        names = utility.list_collections()
        print(f"ok list: {len(names)} collections{' as ' + user if user else ''}")
        return
    if mode == "create":
        if utility.has_collection(NAME):
            utility.drop_collection(NAME)
        c = Collection(NAME, schema())
        rng = random.Random(1)
        c.insert([list(range(1000)), [[rng.random() for _ in range(8)] for _ in range(1000)]])
        c.flush()
        c.create_index("v", {"index_type": "IVF_FLAT", "metric_type": "L2", "params": {"nlist": 16}})
        c.load()
    if mode == "later":
        later()
        return
    if mode == "restored":
        restored()
        return
    c = Collection(NAME)
    c.load(timeout=120)
    hits = c.search(query(), "v", {"metric_type": "L2", "params": {"nprobe": 16}}, limit=3)
    ids = [h.id for h in hits[0]]
    ok = c.num_entities == 1000 and len(ids) == 3
    print(f"{'ok' if ok else 'FAIL'} {mode}: {c.num_entities} entities, loaded, nearest ids {ids}")
    sys.exit(0 if ok else 1)


def nearest(c):
    """The ids nearest the query, consistency Strong: everything written before is seen."""
    hits = c.search(query(), "v", {"metric_type": "L2", "params": {"nprobe": 16}}, limit=3, consistency_level="Strong")
    return [h.id for h in hits[0]]


def later():
    c = Collection(NAME)
    c.load(timeout=120)
    rng = random.Random(3)
    q = query()[0]
    # Three right beside the query vector (the nearest after this), the rest anywhere.
    vectors = [[x + (i + 1) * 1e-4 for x in q] for i in range(3)] + [[rng.random() for _ in range(8)] for _ in range(497)]
    c.insert([list(range(1000, 1500)), vectors])
    c.flush()
    if utility.has_collection(LATER):
        utility.drop_collection(LATER)
    other = Collection(LATER, schema())
    other.insert([list(range(100)), [[rng.random() for _ in range(8)] for _ in range(100)]])
    other.flush()
    ids = nearest(c)
    ok = c.num_entities == 1500 and other.num_entities == 100 and ids == [1000, 1001, 1002]
    print(f"{'ok' if ok else 'FAIL'} later: {NAME} {c.num_entities} entities, {LATER} {other.num_entities}, flushed; nearest ids {ids}")
    sys.exit(0 if ok else 1)


def restored():
    names = sorted(utility.list_collections())
    c = Collection(NAME)
    c.load(timeout=120)
    seen = c.query("id >= 0", output_fields=["id"], consistency_level="Strong", limit=16384)
    newer = [r["id"] for r in seen if r["id"] >= 1000]
    ids = nearest(c)
    ok = LATER not in names and c.num_entities == 1000 and len(seen) == 1000 and not newer and len(ids) == 3
    print(f"{'ok' if ok else 'FAIL'} restored: collections {names}; {NAME} {c.num_entities} entities flushed, "
          f"{len(seen)} by a Strong query ({len(newer)} of the later ids{': ' + str(newer[:5]) if newer else ''}), "
          f"loaded, nearest ids {ids}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one line, as the checks read only the last one
        print(f"FAIL {sys.argv[2] if len(sys.argv) > 2 else ''}: {type(e).__name__}: {e}".replace("\n", " "))
        sys.exit(1)

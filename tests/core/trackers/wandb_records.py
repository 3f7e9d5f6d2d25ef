"""A W&B offline run read back: its .wandb file is LevelDB's log format (32 KiB blocks of records, each a
crc32c, a length, a type and its data; https://github.com/google/leveldb/blob/main/doc/log_format.md) after a
7-byte W&B header, each record's data one protobuf `Record` of W&B's own schema (wandb.proto)."""
import json
import struct
from pathlib import Path

BLOCK = 32768
HEADER = 7  # the file's (ident, magic, version) and each record's (crc32c, length, type)
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: Path) -> list:
    from wandb.proto import wandb_internal_pb2

    data, out, pending, offset = Path(path).read_bytes(), [], b"", HEADER
    assert data[:4] == b":W&B", "not a .wandb file"
    while offset + HEADER <= len(data):
        if BLOCK - offset % BLOCK < HEADER:  # the block's tail is too short for a header: padding
            offset += BLOCK - offset % BLOCK
            continue
        _, length, kind = struct.unpack("<IHB", data[offset:offset + HEADER])
        if kind == 0 and length == 0:
            break
        chunk, offset = data[offset + HEADER:offset + HEADER + length], offset + HEADER + length
        pending = chunk if kind in (FULL, FIRST) else pending + chunk
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            out.append(record)
    return out


def _nested(items) -> dict:
    """Items as a dict; an item with a nested key (a logged image's fields) in the dicts its key names."""
    out = {}
    for item in items:
        *outer, last = list(item.nested_key) or [item.key]
        place = out
        for key in outer:
            place = place.setdefault(key, {})
        place[last] = json.loads(item.value_json)
    return out


def history(path: Path) -> list[dict]:
    """Each run.log() row as {key: value}."""
    return [_nested(r.history.item) for r in records(path) if r.WhichOneof("record_type") == "history"]


def config(path: Path) -> dict:
    """The run's config: as wandb.init() gave it (the run record), with later updates."""
    found = {"run": lambda r: r.run.config.update, "config": lambda r: r.config.update}
    return _nested(item for r in records(path) if r.WhichOneof("record_type") in found
                   for item in found[r.WhichOneof("record_type")](r))


def artifacts(path: Path) -> list:
    """The artifacts the run logged: (name, type, the files in each)."""
    return [(r.artifact.name, r.artifact.type, [entry.path for entry in r.artifact.manifest.contents])
            for r in records(path) if r.WhichOneof("record_type") == "artifact"]

"""Files written whole or not at all, lines read as they are appended, JSON lines read leniently or strictly."""
import os

import pytest

from core.base.errors import UserError
from core.base.files import AppendedLines, atomic_file, json_objects, read_json, read_jsonl, write_atomically


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "config.json"
    write_atomically(target, '{"old": true}', durable=True)
    with pytest.raises(RuntimeError):
        with atomic_file(target) as f:
            f.write(b'{"new": ')
            raise RuntimeError("killed mid-write")
    assert target.read_text() == '{"old": true}' and list(tmp_path.iterdir()) == [target]
    write_atomically(target, b'{"new": true}')
    assert read_json(target) == {"new": True}
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())  # an ordinary file, not mkstemp's 0600


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_appended_lines_come_whole_once_and_numbered(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text("earlier\n")
    fresh, tail = AppendedLines(path, from_end=True), AppendedLines(path)
    with open(path, "a") as f:
        f.write("one\ntw")
    assert fresh.read() == [(2, "one")] and tail.read() == [(1, "earlier"), (2, "one")]
    assert fresh.read() == []  # half a line waits for its end
    with open(path, "a") as f:
        f.write("o\n")
    assert fresh.read() == [(3, "two")]


def test_a_file_cut_shorter_or_replaced_is_read_again_from_its_start(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("a\nb\nc\n")
    tail = AppendedLines(path)
    assert tail.lines() == ["a", "b", "c"]
    write_atomically(path, "a\n")  # a rewind cut it
    assert tail.replaced
    assert tail.lines() == ["a"]  # shorter than what was read: from the start
    tail.restart()
    assert tail.lines() == ["a"] and not tail.replaced


def test_json_lines_skip_what_a_crash_cut_short_unless_told_to_refuse(tmp_path):
    lines = ['{"step": 1}', "", "[1, 2]", '{"step": 2']
    assert json_objects(lines) == [{"step": 1}]
    with pytest.raises(UserError, match="events.jsonl:3 is not a JSON object"):
        json_objects(lines, where="events.jsonl")
    (tmp_path / "q.jsonl").write_text("\n".join(lines))
    assert read_jsonl(tmp_path / "q.jsonl") == [{"step": 1}] and read_jsonl(tmp_path / "missing.jsonl") == []
    assert read_json(tmp_path / "q.jsonl") is None

"""The result store: a line cut short by a kill is ignored and cut off, a damaged line is an error naming
it, one writer at a time, the last line of a hash wins, and a run reads what is done under the lock."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from neuroemu.experiments.point import Point
from neuroemu.experiments.runner import Outcome, run_points
from neuroemu.experiments.store import ResultStore, StoreError, config_hash


def record(n: int, status: str = "ok", **extra: Any) -> dict[str, Any]:
    config = {"point": n}
    return {"hash": config_hash(config), "status": status, "config": config, "result": {"n": n}, **extra}


def line(n: int, status: str = "ok") -> bytes:
    return (json.dumps(record(n, status), sort_keys=True) + "\n").encode()


@pytest.fixture
def store(tmp_path: Path) -> ResultStore:
    return ResultStore(tmp_path / "out" / "results.jsonl")


def test_a_missing_file_is_an_empty_store(store: ResultStore):
    assert store.records() == {}


def test_append_writes_one_sorted_line_per_record_and_creates_the_folder(store: ResultStore):
    with store.writing():
        store.append(record(1))
        store.append(record(2))
    assert store.path.read_bytes() == line(1) + line(2)
    assert list(store.records()) == [record(1)["hash"], record(2)["hash"]]


def test_a_partial_last_line_is_ignored_by_readers_and_cut_off_before_appending(store: ResultStore):
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(line(1) + line(2)[:25])
    assert store.records() == {record(1)["hash"]: record(1)}
    assert store.path.read_bytes() == line(1) + line(2)[:25]  # reading changes nothing
    with store.writing():
        assert store.path.read_bytes() == line(1)
        store.append(record(3))
    assert store.path.read_bytes() == line(1) + line(3)
    assert [r["result"]["n"] for r in store.records().values()] == [1, 3]


def test_a_whole_line_without_its_newline_is_still_cut_short(store: ResultStore):
    """The newline is the last byte of a line's one write: without it the line never finished."""
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(line(1) + line(2)[:-1])
    assert list(store.records()) == [record(1)["hash"]]
    with store.writing():
        pass
    assert store.path.read_bytes() == line(1)


@pytest.mark.parametrize(("damaged", "where"), [
    (b'{"hash": "abc", "status": "ok", "conf\n', "line 2 is not JSON"),
    (b"\xff\xfe not text\n", "line 2 is not JSON"),
    (b'{"hash": "abc", "status": "maybe", "config": {}}\n', "line 2 is not a neuroemu result"),
    (b'["a", "list"]\n', "line 2 is not a neuroemu result"),
])
def test_a_damaged_line_in_the_middle_is_an_error_naming_its_line(store: ResultStore, damaged: bytes,
                                                                  where: str):
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(line(1) + damaged + line(3))
    with pytest.raises(StoreError, match=where):
        store.records()


def test_a_damaged_last_line_with_its_newline_is_an_error_too(store: ResultStore):
    """Not cut short by a kill (it ended in its newline): an error, not silently kept behind new lines."""
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(line(1) + b"garbage\n")
    with pytest.raises(StoreError, match="line 2 is not JSON"):
        store.records()


def test_blank_lines_are_skipped_but_counted(store: ResultStore):
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(line(1) + b"\n" + b"oops\n")
    with pytest.raises(StoreError, match="line 3 "):
        store.records()


def test_the_last_line_of_a_hash_wins_and_failed_points_can_be_retried(store: ResultStore):
    with store.writing():
        store.append(record(1, "failed", error="boom"))
        store.append(record(2, "failed", error="boom"))
        store.append(record(1, "ok"))
    statuses = {r["result"]["n"]: r["status"] for r in store.records().values()}
    assert statuses == {1: "ok", 2: "failed"}
    assert len(store.finished()) == 2
    assert [r["result"]["n"] for r in store.finished(retry_failed=True).values()] == [1]


def test_a_second_writer_is_refused_while_the_lock_is_held(store: ResultStore):
    with store.writing():
        with pytest.raises(StoreError, match="being written by another run"), \
                ResultStore(store.path).writing():
            pass
        store.append(record(1))
    with ResultStore(store.path).writing() as again:  # free once the first has finished
        again.append(record(2))
    assert len(store.records()) == 2


def test_the_lock_is_released_when_a_writer_fails(store: ResultStore):
    with pytest.raises(RuntimeError), store.writing():
        raise RuntimeError("a run stopped")
    with store.writing():
        store.append(record(1))


def test_another_process_is_refused_while_the_lock_is_held(store: ResultStore):
    code = ("import sys; from neuroemu.experiments.store import ResultStore, StoreError\n"
            "try:\n    ResultStore(sys.argv[1]).writing().__enter__()\n"
            "except StoreError as exc:\n    print(exc); sys.exit(3)\n")
    with store.writing():
        held = subprocess.run([sys.executable, "-c", code, str(store.path)], capture_output=True, text=True)
    assert held.returncode == 3 and "being written by another run" in held.stdout, held.stderr
    free = subprocess.run([sys.executable, "-c", code, str(store.path)], capture_output=True, text=True)
    assert free.returncode == 0, free.stdout + free.stderr


class Recording:
    """A backend that runs nothing: it records which configurations it was given."""

    def __init__(self) -> None:
        self.given: list[dict[str, Any]] = []

    def run(self, configs: Sequence[dict[str, Any]]) -> Iterator[Outcome]:
        self.given += configs
        for index, config in enumerate(configs):
            yield index, {"result": {"n": config["point"]}, "wall_s": 0.0}, None


def test_a_run_reads_what_is_done_after_taking_the_lock(store: ResultStore):
    """A run that held the lock until just before this one took it may have added points: they are not
    run (or recorded) twice."""

    class LateStore(ResultStore):
        @contextmanager
        def writing(self) -> Iterator[ResultStore]:
            with ResultStore(self.path).writing() as other:  # the other run finishes point 0, then lets go
                other.append({**record(0), "result": {"n": "by the other run"}})
            with super().writing() as mine:
                yield mine

    points = [Point(config={"point": n}) for n in range(3)]
    backend = Recording()
    records = run_points(points, LateStore(store.path), backend=backend)
    assert [c["point"] for c in backend.given] == [1, 2]
    assert records[0]["result"] == {"n": "by the other run"}
    hashes = [json.loads(text)["hash"] for text in store.path.read_text().splitlines()]
    assert sorted(hashes) == sorted(p.hash for p in points)


def test_a_run_appends_each_point_once(store: ResultStore):
    points = [Point(config={"point": n}) for n in (1, 2, 1, 3)]
    backend = Recording()
    records = run_points(points, store, backend=backend)
    assert [c["point"] for c in backend.given] == [1, 2, 3]
    assert [r["result"]["n"] for r in records] == [1, 2, 1, 3]
    assert len(store.path.read_text().splitlines()) == 3
    assert run_points(points, store, backend=backend) == records and len(backend.given) == 3

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured

from core import flake
from core.flake import (
    EPOCH_MS,
    MAX_ID,
    MAX_SEQUENCE,
    SEQUENCE_BITS,
    TIMESTAMP_SHIFT,
    FlakeGenerator,
)


class FakeClock:
    """Stands in for the ``time`` module inside core.flake: a millisecond clock that
    only moves when told to, or when the generator sleeps waiting for the next tick."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def time_ns(self) -> int:
        return self.ms * 1_000_000

    def sleep(self, seconds: float) -> None:
        self.ms += 1


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock(EPOCH_MS + 1_000_000_000)
    monkeypatch.setattr(
        flake, "time", SimpleNamespace(time_ns=fake.time_ns, sleep=fake.sleep)
    )
    return fake


def _increasing(ids: list[int]) -> bool:
    return all(a < b for a, b in itertools.pairwise(ids))


def _ms(flake_id: int) -> int:
    return (flake_id >> TIMESTAMP_SHIFT) + EPOCH_MS


def _worker(flake_id: int) -> int:
    return (flake_id >> SEQUENCE_BITS) & flake.MAX_WORKER


def _sequence(flake_id: int) -> int:
    return flake_id & MAX_SEQUENCE


def test_ids_from_one_generator_are_strictly_increasing():
    generator = FlakeGenerator(7)
    ids = [generator.next_id() for _ in range(20_000)]

    assert _increasing(ids)


def test_module_level_next_id_is_strictly_increasing():
    ids = [flake.next_id() for _ in range(5_000)]

    assert _increasing(ids)


def test_ids_are_unique_across_8_threads_of_20000():
    per_thread: list[list[int]] = [[] for _ in range(8)]
    barrier = threading.Barrier(8)

    def work(out: list[int]) -> None:
        barrier.wait()
        out.extend(flake.next_id() for _ in range(20_000))

    threads = [threading.Thread(target=work, args=(out,)) for out in per_thread]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    everything = [i for out in per_thread for i in out]
    assert len(everything) == 160_000
    assert len(set(everything)) == 160_000
    for out in per_thread:
        assert _increasing(out)


def test_next_ids_gives_n_increasing_unique_ids_on_the_real_clock():
    generator = FlakeGenerator(3)
    ids = (
        generator.next_ids(4000) + generator.next_ids(200) + generator.next_ids(10_000)
    )

    assert len(ids) == 14_200
    assert len(set(ids)) == 14_200
    assert _increasing(ids)


def test_next_ids_rolls_over_the_4096_sequence_into_the_next_millisecond(clock):
    generator = FlakeGenerator(5)
    start = clock.ms

    ids = generator.next_ids(5000)

    assert len(ids) == 5000
    assert len(set(ids)) == 5000
    assert _increasing(ids)
    assert {_ms(i) for i in ids[:4096]} == {start}
    assert [_sequence(i) for i in ids[:4096]] == list(range(4096))
    assert {_ms(i) for i in ids[4096:]} == {start + 1}
    assert [_sequence(i) for i in ids[4096:]] == list(range(904))
    assert {_worker(i) for i in ids} == {5}


def test_next_ids_continues_the_sequence_across_calls_and_rollover(clock):
    generator = FlakeGenerator(5)
    start = clock.ms

    first = generator.next_ids(4000)
    second = generator.next_ids(200)

    ids = first + second
    assert len(set(ids)) == 4200
    assert _increasing(ids)
    assert _ms(second[95]) == start
    assert _sequence(second[95]) == MAX_SEQUENCE
    assert _ms(second[96]) == start + 1
    assert _sequence(second[96]) == 0


def test_a_clock_stepping_back_does_not_repeat_or_reorder_ids(clock):
    generator = FlakeGenerator(5)
    before = generator.next_ids(10)
    clock.ms -= 5_000

    after = generator.next_ids(10)

    ids = before + after
    assert len(set(ids)) == 20
    assert _increasing(ids)


def test_ids_fit_in_signed_63_bits():
    flake_id = flake.next_id()

    assert 0 < flake_id <= MAX_ID
    assert flake_id.bit_length() <= 63


def test_the_largest_worker_and_sequence_still_fit_in_63_bits(clock):
    clock.ms = EPOCH_MS + (1 << 41) - 1
    generator = FlakeGenerator(flake.MAX_WORKER)

    ids = generator.next_ids(MAX_SEQUENCE + 1)

    assert ids[-1] == MAX_ID


def test_timestamp_of_round_trips_to_now():
    before = datetime.now(UTC)
    flake_id = flake.next_id()
    after = datetime.now(UTC)

    stamp = flake.timestamp_of(flake_id)

    assert stamp.tzinfo is not None
    assert (
        before - timedelta(milliseconds=2) <= stamp <= after + timedelta(milliseconds=2)
    )


def test_two_workers_in_the_same_millisecond_never_collide(clock):
    one, two = FlakeGenerator(1), FlakeGenerator(2)

    ids_one = one.next_ids(4096)
    ids_two = two.next_ids(4096)

    assert {_ms(i) for i in ids_one + ids_two} == {clock.ms}
    assert not set(ids_one) & set(ids_two)


@pytest.mark.parametrize("worker_id", [-1, flake.MAX_WORKER + 1])
def test_a_worker_id_out_of_range_is_refused(worker_id):
    with pytest.raises(ValueError, match="worker_id"):
        FlakeGenerator(worker_id)


def test_configured_worker_id_is_used(settings):
    settings.FLAKE_WORKER_ID = "17"

    assert flake._configured_worker_id() == 17


@pytest.mark.parametrize("configured", ["1024", "-1", "abc"])
def test_a_configured_worker_id_out_of_range_is_a_configuration_error(
    settings, configured
):
    # Wrapping 1024 to 0 would silently share worker 0 with another process.
    settings.FLAKE_WORKER_ID = configured

    with pytest.raises(ImproperlyConfigured, match="FLAKE_WORKER_ID"):
        flake._configured_worker_id()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("123", 123),
        (123, 123),
        ("1", 1),
        (str(MAX_ID), MAX_ID),
        (MAX_ID, MAX_ID),
    ],
)
def test_parse_accepts_positive_ids_as_strings_or_integers(value, expected):
    assert flake.parse(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "",
        "-1",
        "0",
        0,
        -1,
        True,
        False,
        2**63,
        str(2**63),
        "1.5",
        1.5,
        "١٢٣",
        "\uff11\uff12\uff13",  # fullwidth digits
        " 123",
        "123 ",
        "+123",
        "1e3",
        None,
        [123],
    ],
)
def test_parse_rejects_anything_else(value):
    assert flake.parse(value) is None


def test_a_clock_far_behind_moves_the_logical_clock_instead_of_waiting(clock):
    # Waiting for real time to catch up with a clock that stepped back by minutes
    # (or a test that travelled in time) would block every writer; it must not.
    generator = FlakeGenerator(5)
    before = generator.next_ids(10)
    sleeps = []
    clock.sleep = lambda seconds: sleeps.append(seconds)  # never advances
    flake.time.sleep = clock.sleep
    clock.ms -= 600_000
    after = generator.next_ids(3 * (MAX_SEQUENCE + 1))
    ids = before + after
    assert _increasing(ids)
    assert len(set(ids)) == len(ids)
    assert sleeps == []

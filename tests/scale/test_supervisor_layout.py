"""How `dsr up --workers N` lays its workers out, and why a second pipeline cannot take the API's port."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.launcher.supervisor import SERVICES, Supervisor
from services.runtime.sockets import listening_socket


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_every_worker_has_its_own_port_and_the_intake_workers_share_the_apis(
    workers: int, tmp_path: Path
) -> None:
    supervisor = Supervisor.for_services({}, tmp_path, 8000, workers=workers)
    ports = [c.port for c in supervisor.children]
    assert len(supervisor.children) == workers * len(SERVICES)
    assert len(set(ports)) == len(ports)
    assert supervisor.api_url == "http://127.0.0.1:8000"
    intake = [c for c in supervisor.children if c.service == "intake"]
    if workers == 1:
        assert intake[0].port == 8000 and intake[0].shared_port is None
    else:
        assert 8000 not in ports
        assert {c.shared_port for c in intake} == {8000}
        assert all(c.shared_port is None for c in supervisor.children if c.service != "intake")


def test_a_port_held_by_another_process_stops_the_start_before_any_worker(tmp_path: Path) -> None:
    with listening_socket("127.0.0.1", 0) as other:
        port = other.getsockname()[1]
        supervisor = Supervisor.for_services({}, tmp_path, port, workers=2)
        with pytest.raises(RuntimeError, match=f"cannot listen on 127.0.0.1:{port}"):
            supervisor.start()
    assert all(c.process is None for c in supervisor.children)
    assert supervisor.shared == {}


def test_the_shared_socket_is_released_when_the_supervisor_stops(tmp_path: Path) -> None:
    supervisor = Supervisor({}, tmp_path)
    with listening_socket("127.0.0.1", 0) as probe:
        port = probe.getsockname()[1]
    supervisor.shared[port] = listening_socket("127.0.0.1", port)
    supervisor.stop()
    with listening_socket("127.0.0.1", port):  # free again
        pass


@pytest.mark.parametrize("workers", [1, 2])
def test_a_port_allocator_gives_every_worker_a_port_of_its_own(workers: int, tmp_path: Path) -> None:
    given = iter([41001, 41017, 41003, 41029, 41011, 41013, 41019, 41023, 41031, 41037])
    supervisor = Supervisor.for_services({}, tmp_path, 40000, workers=workers, child_port=lambda: next(given))
    ports = [c.port for c in supervisor.children]
    assert supervisor.api_url == "http://127.0.0.1:40000"
    expected = [41001, 41017, 41003, 41029, 41011, 41013, 41019, 41023, 41031, 41037]
    if workers == 1:  # the only intake answers on the API's port itself
        assert ports == [40000, *expected[:4]]
    else:
        assert ports == expected


def test_free_ports_never_hands_out_one_port_twice() -> None:
    from services.launcher.ports import free_ports

    take = free_ports()
    ports = [take() for _ in range(50)]
    assert len(set(ports)) == 50

"""How the error mapping tells a database outage (503 50395, retry) from our own bug (500):
the exceptions asyncpg raised in the fault-injection harness while PostgreSQL restarted."""

from __future__ import annotations

import asyncpg
import pytest
from eventsourcing import persistence as es
from litestar import Litestar, get
from litestar.testing import TestClient

from backend.errors import exception_handlers


def _answer(error: Exception) -> tuple[int, int]:
    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise error

    app = Litestar([boom], exception_handlers=exception_handlers)
    with TestClient(app) as client:
        response = client.get("/boom")
    return response.status_code, response.json()["errcode"]


def _lost_while_unwinding() -> asyncpg.InterfaceError:
    """A transaction's exit on a connection the server dropped, raised while handling the
    query's own failure (as asyncpg chains them)."""
    try:
        try:
            raise asyncpg.InternalClientError("cannot switch to state 12")
        except asyncpg.InternalClientError:
            raise asyncpg.InterfaceError("cannot call Transaction.__aexit__(): closed") from None
    except asyncpg.InterfaceError as error:
        return error


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.CannotConnectNowError("the database system is shutting down"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.InternalClientError("cannot switch to state 15; another operation is in progress"),
        asyncpg.InterfaceError("cannot call Transaction.__aexit__(): the connection is closed"),
        ConnectionRefusedError(111, "Connection refused"),
        es.OperationalError("couldn't get a connection after 10.00 sec"),
    ],
    ids=type,
)
def test_an_outage_is_answered_503_retry_later(error: Exception) -> None:
    # given the database going away under a request; when the error reaches the mapping
    # then the caller is told to retry
    assert _answer(error) == (503, 50395)


def test_an_interface_error_raised_while_unwinding_an_outage_is_an_outage() -> None:
    assert _answer(_lost_while_unwinding()) == (503, 50395)


def test_misusing_a_connection_is_still_our_bug() -> None:
    # given asyncpg refusing a second concurrent operation on one connection (a bug of ours)
    error = asyncpg.InterfaceError("cannot perform operation: another operation is in progress")
    # then it stays a 500
    assert _answer(error) == (500, 50000)

"""A small client of Airflow's REST API v2 (JWT from /auth/token): what `stockstream backfill`,
the demo and the tests ask of the running Airflow."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as clock
from typing import Any

import requests

from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.services.airflow import ADMIN_USER, AirflowService

FINISHED = frozenset({"success", "failed"})
BUSY_RETRIES = 5


@dataclass(frozen=True)
class DagRun:
    """One DAG run as the API reports it."""

    run_id: str
    logical_date: datetime | None
    state: str
    start_date: datetime | None
    end_date: datetime | None
    conf: dict[str, Any]

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> DagRun:
        return cls(
            run_id=str(body["dag_run_id"]),
            logical_date=_timestamp(body.get("logical_date")),
            state=str(body.get("state") or "queued"),
            start_date=_timestamp(body.get("start_date")),
            end_date=_timestamp(body.get("end_date")),
            conf=dict(body.get("conf") or {}),
        )

    @property
    def seconds(self) -> float | None:
        if self.start_date is None or self.end_date is None:
            return None
        return (self.end_date - self.start_date).total_seconds()


def _timestamp(value: object) -> datetime | None:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


def midnight(day: date) -> str:
    """The UTC midnight that starts `day`, as the API takes it."""
    return datetime.combine(day, clock(0), UTC).isoformat()


class AirflowApi:
    """The local Airflow's REST API, logged in as the admin of the SimpleAuthManager."""

    def __init__(self, settings: Settings, password: str | None = None, timeout: float = 30) -> None:
        self.base = settings.airflow_url
        self.timeout = timeout
        self._password = password or AirflowService(settings).admin_password()
        self._token: str | None = None

    def token(self) -> str:
        """A JWT for the admin user (POST /auth/token)."""
        if self._token is None:
            if self._password is None:
                raise StockstreamError(
                    "Airflow's admin password is not there yet (Airflow was never started here)",
                    "start the services with `stockstream up`",
                )
            reply = self._send(
                "POST", "/auth/token", json={"username": ADMIN_USER, "password": self._password}, auth=False
            )
            self._token = str(reply["access_token"])
        return self._token

    def _send(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token()}"} if auth else {}
        for attempt in range(BUSY_RETRIES + 1):
            try:
                reply = requests.request(
                    method, self.base + path, headers=headers, timeout=self.timeout, **kwargs
                )
            except requests.RequestException as exc:
                raise StockstreamError(
                    f"Airflow does not answer at {self.base} ({exc.__class__.__name__})",
                    "start it with `stockstream up`; `stockstream status` shows the services",
                ) from None
            # SQLite (the embedded default) takes one writer at a time: a request that found the
            # database locked failed before it changed anything, so it is sent again.
            busy = reply.status_code == 503 or (reply.status_code == 500 and "Database error" in reply.text)
            if not busy or attempt == BUSY_RETRIES:
                break
            time.sleep(1 + attempt)
        if reply.status_code >= 400:
            try:
                detail = reply.json().get("detail", reply.text)
            except ValueError:
                detail = reply.text
            raise StockstreamError(
                f"Airflow refused {method} {path}: HTTP {reply.status_code}: {detail}",
                "see the message above; the API server's log is var/logs/airflow-api-server.log",
            )
        return reply.json() if reply.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self._send("GET", path, params=params)

    def dag(self, dag_id: str) -> dict[str, Any] | None:
        """The DAG's details, None while Airflow has not parsed it."""
        try:
            return dict(self.get(f"/api/v2/dags/{dag_id}"))
        except StockstreamError as exc:
            if "HTTP 404" in exc.message:
                return None
            raise

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> dict[str, Any]:
        """The DAG once Airflow's dag processor has parsed it (it reparses every 30 s)."""
        deadline = time.monotonic() + timeout
        while (found := self.dag(dag_id)) is None:
            if time.monotonic() > deadline:
                raise StockstreamError(
                    f"Airflow has not loaded the DAG {dag_id} after {timeout:.0f}s",
                    "look for import errors in the UI (or var/logs/airflow-dag-processor.log)",
                )
            time.sleep(2)
        return found

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self._send("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": paused})

    def dag_runs(self, dag_id: str, first: date, last: date) -> list[DagRun]:
        """Runs whose logical date falls on [first, last]."""
        body = self.get(
            f"/api/v2/dags/{dag_id}/dagRuns",
            logical_date_gte=midnight(first),
            logical_date_lte=datetime.combine(last, clock.max, UTC).isoformat(),
            order_by="logical_date",
            limit=1000,
        )
        return [DagRun.from_json(run) for run in body["dag_runs"]]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        """task_id -> state of a run's task instances."""
        body = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=1000)
        return {str(ti["task_id"]): str(ti.get("state") or "none") for ti in body["task_instances"]}

    @staticmethod
    def backfill_body(
        dag_id: str, first: date, last: date, *, conf: dict[str, Any], reprocess: str, max_active_runs: int
    ) -> dict[str, Any]:
        """A backfill request: runs whose logical dates fall on [first, last]."""
        return {
            "dag_id": dag_id,
            "from_date": midnight(first),
            "to_date": midnight(last),
            "run_backwards": False,
            "dag_run_conf": conf,
            "reprocess_behavior": reprocess,
            "max_active_runs": max_active_runs,
        }

    def backfill_dry_run(self, body: dict[str, Any]) -> list[date]:
        """The logical dates a backfill with this body would run."""
        reply = self._send("POST", "/api/v2/backfills/dry_run", json=body)
        return [stamp.date() for run in reply["backfills"] if (stamp := _timestamp(run["logical_date"]))]

    def active_backfill(self, body: dict[str, Any], since: datetime) -> dict[str, Any] | None:
        """The unfinished backfill of body's DAG over body's range created after `since`."""
        found = self.get("/api/v2/backfills", dag_id=body["dag_id"])["backfills"]
        for backfill in found:
            same = [_timestamp(backfill[key]) == _timestamp(body[key]) for key in ("from_date", "to_date")]
            created = _timestamp(backfill.get("created_at"))
            if backfill.get("completed_at") is None and all(same) and created and created >= since:
                return dict(backfill)
        return None

"""Every order the simulator knows, and the rules by which an order moves.

The life of an order follows the v6.0 specification (developers.bankid.com, "Collect"):

* it starts ``pending`` / ``outstandingTransaction``;
* the app picks it up — by scanning the animated QR code, by the autostart token, or (phone
  orders) when the person opens the app — and it becomes ``started`` (phone:
  ``userCallConfirm``);
* the person's ID is chosen: ``userMrtd`` when the RP required a passport check, then
  ``userSign``;
* it ends ``complete`` (with ``completionData``) or ``failed`` with a hint code.

Time limits: an order no app has picked up fails with ``startFailed`` ("the client did not
launch within a certain time limit") after ``start_timeout``, 30 s by default, the window in
which BankID accepts the QR code; any order still pending after ``order_ttl`` (3 min by
default) fails with ``expiredTransaction`` ("the user did not finalize the signing").

A finished order can be collected once, for ``complete_retention`` (3 min) or
``failed_retention`` (5 min); after that, or after a cancel, collect answers
``invalidParameters`` (errors table: "an orderRef that previously resulted in completed/failed
… cannot be collected twice"; "completed orders can only be collected up to 3 minutes and
failed orders up to 5 minutes").

Time is read from an injectable clock and applied lazily whenever an order is touched, so tests
can move time forward without sleeping. All mutation happens in plain methods without ``await``,
so each API call is atomic on the event loop.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from identity.bankid.simulator.codes import FAILED_HINT_CODES, ApiError, ErrorCode, HintCode, Status
from identity.bankid.simulator.completion import completion_data
from identity.bankid.simulator.persons import TEST_PERSONS, TestPerson, person_by_number
from identity.bankid.simulator.scan import QrRefused, parse_qr, verify_qr
from identity.bankid.simulator.validation import StartParameters

log = logging.getLogger(__name__)

MonotonicClock = Callable[[], float]
RISK_LEVELS = frozenset({"low", "moderate", "high"})


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    """Timing and data of one simulator; every limit can be shortened for tests."""

    start_timeout: float = 30.0
    order_ttl: float = 180.0
    complete_retention: float = 180.0
    failed_retention: float = 300.0
    qr_time_tolerance: int = 2
    purge_interval: float = 10.0
    default_risk: str = "low"
    clock: MonotonicClock = time.monotonic
    persons: tuple[TestPerson, ...] = TEST_PERSONS


class ManualClock:
    """A clock that moves only when told to, for tests of time limits and QR frames."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Refused(Exception):
    """A simulator-side action (scan, approve, …) that the app would not allow."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True, slots=True)
class PlannedOutcome:
    """How the next started order ends, without anyone touching the app.

    The order answers ``pending`` to ``after_collects`` collects, then completes (for
    ``personal_number``, or the person the order is bound to) or fails with ``hint_code``.
    """

    hint_code: HintCode | None = None
    personal_number: str | None = None
    after_collects: int = 1
    risk: str | None = None


@dataclass(slots=True)
class Fault:
    """The next ``remaining`` calls (to ``endpoint``, or to any endpoint) answer ``error``."""

    error: ErrorCode
    remaining: int
    endpoint: str | None


@dataclass(slots=True)
class SimOrder:
    order_ref: str
    start: StartParameters
    created_at: float
    auto_start_token: str | None
    qr_start_token: str | None
    qr_start_secret: str | None = field(repr=False)
    status: Status = Status.PENDING
    hint_code: HintCode | None = HintCode.OUTSTANDING_TRANSACTION
    picked_up_by: str | None = None  # "qr", "autostart" or "phone"
    person: TestPerson | None = None
    finished_at: float | None = None
    completion: dict[str, Any] | None = field(default=None, repr=False)
    pending_answers: int = 0
    plan: PlannedOutcome | None = None

    def collect_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"orderRef": self.order_ref, "status": self.status.value}
        if self.status is Status.COMPLETE:
            body["completionData"] = self.completion
        else:
            assert self.hint_code is not None
            body["hintCode"] = self.hint_code.value
        return body


class SimulatorState:
    """The simulated BankID back end: orders, the app's actions on them, and test controls."""

    def __init__(self, settings: SimulatorSettings | None = None) -> None:
        self.settings = settings or SimulatorSettings()
        self._orders: dict[str, SimOrder] = {}
        self._by_qr_token: dict[str, str] = {}
        self._by_autostart_token: dict[str, str] = {}
        self._by_person: dict[str, set[str]] = {}
        self._plans: deque[PlannedOutcome] = deque()
        self._faults: list[Fault] = []

    def now(self) -> float:
        return self.settings.clock()

    # --- the RP API ------------------------------------------------------------------------

    def take_fault(self, endpoint: str) -> ApiError | None:
        """The forced error for this call, if a test asked for one."""
        for fault in self._faults:
            if fault.endpoint in (None, endpoint):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return ApiError(fault.error)
        return None

    def start(self, start: StartParameters) -> SimOrder:
        now = self.now()
        if start.personal_number is not None:
            self._refuse_if_in_progress(start.personal_number, now)
        is_phone = start.kind.is_phone
        order = SimOrder(
            order_ref=str(uuid.uuid4()),
            start=start,
            created_at=now,
            # Phone orders are picked up in the app by the person they name; they have no
            # tokens (the response holds only orderRef).
            auto_start_token=None if is_phone else str(uuid.uuid4()),
            qr_start_token=None if is_phone else str(uuid.uuid4()),
            qr_start_secret=None if is_phone else str(uuid.uuid4()),
            plan=self._plans.popleft() if self._plans else None,
        )
        self._orders[order.order_ref] = order
        if order.qr_start_token is not None:
            self._by_qr_token[order.qr_start_token] = order.order_ref
        if order.auto_start_token is not None:
            self._by_autostart_token[order.auto_start_token] = order.order_ref
        if start.personal_number is not None:
            self._by_person.setdefault(start.personal_number, set()).add(order.order_ref)
        log.info("order %s started (%s)", order.order_ref, start.kind.value)
        return order

    def collect(self, order_ref: str) -> dict[str, Any]:
        order = self._live(order_ref)
        if order is None:
            raise ApiError(ErrorCode.INVALID_PARAMETERS, "No such order")
        self._apply_plan(order)
        body = order.collect_body()
        if order.status is Status.PENDING:
            order.pending_answers += 1
        else:
            # A final status is handed out once; the order is gone afterwards.
            self._remove(order)
        return body

    def cancel(self, order_ref: str) -> None:
        order = self._live(order_ref)
        if order is None:
            raise ApiError(ErrorCode.INVALID_PARAMETERS, "No such order")
        self._remove(order)
        log.info("order %s cancelled by the relying party", order_ref)

    # --- what the person does in the (simulated) BankID app ---------------------------------

    def scan(self, qr_data: str) -> SimOrder:
        try:
            content = parse_qr(qr_data)
        except QrRefused as refused:
            raise Refused(400, str(refused)) from None
        order_ref = self._by_qr_token.get(content.qr_start_token)
        order = self._live(order_ref) if order_ref else None
        if order is None or order.qr_start_secret is None:
            raise Refused(404, "no order has that qrStartToken")
        self._require_not_picked_up(order)
        try:
            verify_qr(content, order.qr_start_secret, self.now() - order.created_at, self.settings.qr_time_tolerance)
        except QrRefused as refused:
            raise Refused(422, str(refused)) from None
        self._pick_up(order, "qr", HintCode.STARTED)
        return order

    def autostart(self, auto_start_token: str) -> SimOrder:
        order_ref = self._by_autostart_token.get(auto_start_token.strip().lower())
        order = self._live(order_ref) if order_ref else None
        if order is None:
            raise Refused(404, "no order has that autoStartToken")
        self._require_not_picked_up(order)
        self._pick_up(order, "autostart", HintCode.STARTED)
        return order

    def identify(self, order_ref: str, personal_number: str) -> SimOrder:
        """The person's ID is chosen in the app (for a phone order: the person opens it)."""
        order = self._pending(order_ref)
        person = self._person(personal_number)
        self._require_bound_to(order, person)
        if order.start.kind.is_phone and order.picked_up_by is None:
            self._pick_up(order, "phone", HintCode.USER_CALL_CONFIRM)
        elif order.hint_code is HintCode.STARTED:
            order.hint_code = HintCode.USER_MRTD if order.start.mrtd else HintCode.USER_SIGN
        elif order.picked_up_by is None:
            raise Refused(409, "the order has not been started: scan its QR code or use its autostart token")
        else:
            raise Refused(409, f"the order is at {_hint(order)}, an ID has already been chosen")
        self._attach_person(order, person)
        return order

    def confirm(self, order_ref: str) -> SimOrder:
        """Pass the step the app is waiting for: the call check, then the passport check."""
        order = self._pending(order_ref)
        if order.hint_code is HintCode.USER_CALL_CONFIRM:
            order.hint_code = HintCode.USER_MRTD if order.start.mrtd else HintCode.USER_SIGN
        elif order.hint_code is HintCode.USER_MRTD:
            order.hint_code = HintCode.USER_SIGN
        else:
            raise Refused(409, f"nothing to confirm: the order is at {_hint(order)}")
        return order

    def complete(
        self,
        order_ref: str,
        *,
        device_ip: str,
        personal_number: str | None = None,
        risk: str | None = None,
    ) -> SimOrder:
        """Approve the order. From any pending step: the steps not yet taken are taken at once."""
        order = self._pending(order_ref)
        chosen = order.person.personal_number if order.person else None
        number = personal_number or chosen or order.start.personal_number
        if number is None:
            raise Refused(400, "personalNumber is required: nobody has identified in this order yet")
        person = self._person(number)
        self._require_bound_to(order, person)
        if order.person is not None and order.person != person:
            raise Refused(409, "another person has already identified in this order")
        if risk is not None and risk not in RISK_LEVELS:
            raise Refused(400, f"risk must be one of {sorted(RISK_LEVELS)}")
        self._complete(order, person, device_ip=device_ip, risk=risk)
        return order

    def fail(self, order_ref: str, hint_code: HintCode) -> SimOrder:
        if hint_code not in FAILED_HINT_CODES:
            raise Refused(400, f"{hint_code.value} is not a hintCode of a failed order")
        order = self._pending(order_ref)
        self._finish(order, Status.FAILED, hint_code, self.now())
        return order

    # --- test controls ---------------------------------------------------------------------

    def plan_next_order(self, plan: PlannedOutcome) -> None:
        if plan.hint_code is not None and plan.hint_code not in FAILED_HINT_CODES:
            raise Refused(400, f"{plan.hint_code.value} is not a hintCode of a failed order")
        if plan.personal_number is not None:
            self._person(plan.personal_number)
        if plan.risk is not None and plan.risk not in RISK_LEVELS:
            raise Refused(400, f"risk must be one of {sorted(RISK_LEVELS)}")
        if plan.after_collects < 0:
            raise Refused(400, "afterCollects must not be negative")
        self._plans.append(plan)

    def add_fault(self, error: ErrorCode, times: int = 1, endpoint: str | None = None) -> None:
        if times < 1:
            raise Refused(400, "times must be at least 1")
        self._faults.append(Fault(error, times, endpoint))

    def reset(self) -> None:
        """Forget every order, planned outcome and forced error."""
        self._orders.clear()
        self._by_qr_token.clear()
        self._by_autostart_token.clear()
        self._by_person.clear()
        self._plans.clear()
        self._faults.clear()

    def find(self, order_ref: str) -> SimOrder | None:
        return self._live(order_ref)

    def pending_orders(self) -> list[SimOrder]:
        live = (self._live(order_ref) for order_ref in list(self._orders))
        return sorted((o for o in live if o is not None and o.status is Status.PENDING), key=lambda o: o.created_at)

    def purge(self) -> None:
        """Apply time limits to every order and drop those no longer collectable."""
        for order_ref in list(self._orders):
            self._live(order_ref)

    def __len__(self) -> int:
        return len(self._orders)

    # --- internals -------------------------------------------------------------------------

    def _live(self, order_ref: str) -> SimOrder | None:
        order = self._orders.get(order_ref)
        if order is None:
            return None
        now = self.now()
        self._apply_time_limits(order, now)
        if order.status is not Status.PENDING:
            assert order.finished_at is not None
            retention = (
                self.settings.complete_retention if order.status is Status.COMPLETE else self.settings.failed_retention
            )
            if now - order.finished_at > retention:
                self._remove(order)
                return None
        return order

    def _apply_time_limits(self, order: SimOrder, now: float) -> None:
        if order.status is not Status.PENDING:
            return
        start_deadline = order.created_at + self.settings.start_timeout if order.picked_up_by is None else math.inf
        expiry_deadline = order.created_at + self.settings.order_ttl
        if now >= start_deadline and start_deadline <= expiry_deadline:
            self._finish(order, Status.FAILED, HintCode.START_FAILED, start_deadline)
        elif now >= expiry_deadline:
            self._finish(order, Status.FAILED, HintCode.EXPIRED_TRANSACTION, expiry_deadline)

    def _apply_plan(self, order: SimOrder) -> None:
        plan = order.plan
        if plan is None or order.status is not Status.PENDING or order.pending_answers < plan.after_collects:
            return
        order.plan = None
        if plan.hint_code is not None:
            self._finish(order, Status.FAILED, plan.hint_code, self.now())
            return
        number = plan.personal_number or order.start.personal_number or self.settings.persons[0].personal_number
        person = self._person(number)
        if order.start.personal_number not in (None, person.personal_number):
            # BankID would never let another person complete a bound order; the plan is dropped
            # and the order stays pending so the test sees its own mistake as a timeout.
            log.warning("planned outcome for order %s names another person than the order; ignored", order.order_ref)
            return
        self._complete(order, person, device_ip=order.start.end_user_ip or "127.0.0.1", risk=plan.risk)

    def _complete(self, order: SimOrder, person: TestPerson, *, device_ip: str, risk: str | None) -> None:
        self._attach_person(order, person)
        order.completion = completion_data(
            start=order.start,
            person=person,
            device_ip=device_ip,
            risk=risk or self.settings.default_risk,
            completed_at=dt.datetime.now(dt.UTC),
        )
        self._finish(order, Status.COMPLETE, None, self.now())

    def _finish(self, order: SimOrder, status: Status, hint_code: HintCode | None, at: float) -> None:
        order.status = status
        order.hint_code = hint_code
        order.finished_at = at
        log.info("order %s %s%s", order.order_ref, status.value, f" ({hint_code.value})" if hint_code else "")

    def _refuse_if_in_progress(self, personal_number: str, now: float) -> None:
        # Errors table, alreadyInProgress: a start naming a person who already has an order in
        # progress aborts that order (its collect then reports failed/cancelled, "the system
        # received a new order for the user") and creates no new one.
        conflict = False
        for order_ref in list(self._by_person.get(personal_number, ())):
            other = self._live(order_ref)
            if other is not None and other.status is Status.PENDING:
                self._finish(other, Status.FAILED, HintCode.CANCELLED, now)
                conflict = True
        if conflict:
            raise ApiError(ErrorCode.ALREADY_IN_PROGRESS)

    def _pending(self, order_ref: str) -> SimOrder:
        order = self._live(order_ref)
        if order is None:
            raise Refused(404, "no such order")
        if order.status is not Status.PENDING:
            raise Refused(409, f"the order is {order.status.value} ({_hint(order)})")
        return order

    def _require_not_picked_up(self, order: SimOrder) -> None:
        if order.status is not Status.PENDING:
            raise Refused(409, f"the order is {order.status.value} ({_hint(order)})")
        if order.picked_up_by is not None:
            raise Refused(409, "the order has already been started in an app")

    def _pick_up(self, order: SimOrder, how: str, hint_code: HintCode) -> None:
        order.picked_up_by = how
        order.hint_code = hint_code
        log.info("order %s picked up (%s)", order.order_ref, how)

    def _person(self, personal_number: str) -> TestPerson:
        person = person_by_number(personal_number, self.settings.persons)
        if person is None:
            raise Refused(404, "no test person has that personal number")
        return person

    def _require_bound_to(self, order: SimOrder, person: TestPerson) -> None:
        if order.start.personal_number not in (None, person.personal_number):
            raise Refused(409, "the order is for another person")

    def _attach_person(self, order: SimOrder, person: TestPerson) -> None:
        order.person = person
        self._by_person.setdefault(person.personal_number, set()).add(order.order_ref)

    def _remove(self, order: SimOrder) -> None:
        self._orders.pop(order.order_ref, None)
        if order.qr_start_token is not None:
            self._by_qr_token.pop(order.qr_start_token, None)
        if order.auto_start_token is not None:
            self._by_autostart_token.pop(order.auto_start_token, None)
        for number in {order.start.personal_number, order.person.personal_number if order.person else None}:
            if number is not None:
                refs = self._by_person.get(number)
                if refs is not None:
                    refs.discard(order.order_ref)
                    if not refs:
                        del self._by_person[number]


def _hint(order: SimOrder) -> str:
    return order.hint_code.value if order.hint_code else order.status.value

"""Choose a driver for each delivery task: feasibility filters, then a score, greedily.

A driver is *feasible* for a task when the business rules allow them, their vehicle has
weight/volume capacity left, they are under their maximum number of stops, and one of their
shifts, begun by the end of the window, leaves time for it: leaving from where they will be
(their last planned stop, else their position) when they are free (after their last planned
stop, never before ``now``), they arrive and finish the service before the shift ends.
Arriving after the window closes is allowed but reported: the assignment carries the real ETA
and how late it is, never a time clamped into the window. Among feasible drivers, those on
time come first, then the least late; then the lowest score wins::

    score = distance_weight * km from the driver's last planned stop (or current position)
          + stops_weight * stops already planned that day
          + hours_weight * hours already planned that day
          - preference_bonus  (when a "prefer" rule points to the driver)

Tasks are taken by priority, then earliest window end, so that urgent and tight deliveries
choose first. Each assignment updates the driver's position, load, workload and the time they
are free for the next tasks. Everything here is plain data: the Odoo models build the inputs and
write the results.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .geo import has_coordinates, haversine_km

# Reasons a task stays unassigned, from the most to the least fundamental.
REASON_ADDRESS = "address"
REASON_NO_DRIVER = "no_driver"
REASON_RULE = "rule"
REASON_SHIFT = "shift"
REASON_CAPACITY = "capacity"
REASON_STOPS = "stops"


def _lt(template: str) -> str:
    """``template``, marked for translation: a text for people is an English template whose
    ``%(name)s`` placeholders come with it as params; Odoo's extraction puts the ``_lt("...")``
    calls in the module's .pot and the models show ``env._(template, **params)``."""
    return template


@dataclass
class TaskInput:
    id: int
    latitude: float
    longitude: float
    window_start: datetime
    window_end: datetime
    weight: float = 0.0
    volume: float = 0.0
    service_minutes: float = 5.0
    priority: int = 0
    # None: any driver; otherwise only these drivers ("only" rules). ``only_rules`` names them.
    allowed_driver_ids: frozenset | None = None
    only_rules: tuple = ()
    # driver id -> names of the "prefer" rules pointing to them
    preferred: dict = field(default_factory=dict)
    address_issue: str = ""


@dataclass
class DriverInput:
    id: int
    name: str
    latitude: float
    longitude: float
    shifts: Sequence[tuple[datetime, datetime]]
    capacity_weight: float = 0.0  # 0: unlimited
    capacity_volume: float = 0.0  # 0: unlimited
    max_stops: int = 0  # 0: unlimited
    planned_stops: int = 0
    planned_weight: float = 0.0
    planned_volume: float = 0.0
    planned_minutes: float = 0.0
    # When the last planned stop ends (the driver is then at latitude/longitude); None: the
    # driver is free from the start of their shift.
    available_from: datetime | None = None


@dataclass(frozen=True)
class Weights:
    distance: float = 1.0  # per km
    stops: float = 0.5  # per stop already planned
    hours: float = 1.0  # per hour already planned
    preference: float = 5.0  # bonus of a "prefer" rule


@dataclass(frozen=True)
class TravelModel:
    road_factor: float = 1.3  # road km per straight-line km
    speed_kmh: float = 25.0

    def minutes(self, km: float) -> float:
        return km * self.road_factor / max(self.speed_kmh, 1e-6) * 60.0


@dataclass
class Assignment:
    task_id: int
    driver_id: int
    driver_name: str
    distance_km: float  # from where the driver will be (0 when that is unknown, see ``located``)
    stops_before: int
    hours_before: float
    rules: tuple
    score: float
    sequence: int
    eta: datetime  # when the service starts, late or not
    late_minutes: float = 0.0  # after the end of the window
    located: bool = True  # whether the driver's position was known


@dataclass
class Unassigned:
    task_id: int
    reason: str
    detail: str  # a template marked for translation, with its ``params`` (see :func:`_lt`)
    params: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The detail in English."""
        return self.detail % self.params if self.params else self.detail


@dataclass
class DispatchResult:
    assignments: list = field(default_factory=list)
    unassigned: list = field(default_factory=list)


def _plan_visit(driver: DriverInput, task: TaskInput, travel_minutes: float, now: datetime | None):
    """(service start, minutes late) of ``task`` as the driver's next stop, in the shift where
    it is least late (the earliest one when on time), or None when no shift has room for it."""
    need = timedelta(minutes=task.service_minutes)
    best = None
    for shift_start, shift_end in driver.shifts:
        if shift_start > task.window_end:
            continue  # working only after the window: late by design, not a fit
        free = max(filter(None, (shift_start, driver.available_from, now)))
        begin = max(free + timedelta(minutes=travel_minutes), task.window_start)
        if begin + need > shift_end:
            continue
        late = max((begin - task.window_end).total_seconds() / 60.0, 0.0)
        if best is None or late < best[1]:
            best = (begin, late)
        if not late:
            break
    return best


def _works_during(driver: DriverInput, task: TaskInput) -> bool:
    return any(start < task.window_end and end > task.window_start for start, end in driver.shifts)


def _fmt_kg(value: float) -> str:
    return f"{value:,.1f} kg"


def dispatch(
    tasks: Iterable[TaskInput],
    drivers: Sequence[DriverInput],
    weights: Weights = Weights(),
    travel: TravelModel = TravelModel(),
    now: datetime | None = None,
) -> DispatchResult:
    """Assign the tasks; ``now`` (naive UTC) is when the drivers are free at the earliest."""
    result = DispatchResult()
    ordered = sorted(tasks, key=lambda t: (-t.priority, t.window_end, t.window_start, t.id))
    for task in ordered:
        if task.address_issue or not has_coordinates(task.latitude, task.longitude):
            if task.address_issue:  # the geocoder's words, as they are
                issue = Unassigned(task.id, REASON_ADDRESS, "%(issue)s", {"issue": task.address_issue})
            else:
                issue = Unassigned(task.id, REASON_ADDRESS, _lt("the delivery address has no coordinates"))
            result.unassigned.append(issue)
            continue
        if not drivers:
            result.unassigned.append(Unassigned(task.id, REASON_NO_DRIVER, _lt("no driver is on duty")))
            continue
        best = best_key = None
        eliminated = {REASON_RULE: 0, REASON_SHIFT: 0, REASON_CAPACITY: 0, REASON_STOPS: 0}
        best_room = None
        for driver in drivers:
            if task.allowed_driver_ids is not None and driver.id not in task.allowed_driver_ids:
                eliminated[REASON_RULE] += 1
                continue
            room = driver.capacity_weight - driver.planned_weight if driver.capacity_weight else float("inf")
            room_volume = (
                driver.capacity_volume - driver.planned_volume if driver.capacity_volume else float("inf")
            )
            if task.weight > room + 1e-9 or task.volume > room_volume + 1e-9:
                eliminated[REASON_CAPACITY] += 1
                best_room = room if best_room is None else max(best_room, room)
                continue
            if driver.max_stops and driver.planned_stops >= driver.max_stops:
                eliminated[REASON_STOPS] += 1
                continue
            # a driver whose position is unknown counts no trip, after the drivers located
            located = has_coordinates(driver.latitude, driver.longitude)
            km = (
                haversine_km(driver.latitude, driver.longitude, task.latitude, task.longitude)
                if located
                else 0.0
            )
            trip = travel.minutes(km)
            visit = _plan_visit(driver, task, trip, now)
            if not visit:
                eliminated[REASON_SHIFT] += 1
                continue
            eta, late = visit
            hours = driver.planned_minutes / 60.0
            rules = task.preferred.get(driver.id, ())
            score = (
                weights.distance * km
                + weights.stops * driver.planned_stops
                + weights.hours * hours
                - (weights.preference if rules else 0.0)
            )
            key = (round(late), not located, score, km, driver.id)
            if best_key is not None and key >= best_key:
                continue
            best_key, best, best_driver, best_trip = (
                key,
                Assignment(
                    task_id=task.id,
                    driver_id=driver.id,
                    driver_name=driver.name,
                    distance_km=km,
                    stops_before=driver.planned_stops,
                    hours_before=hours,
                    rules=tuple(task.only_rules) + tuple(rules),
                    score=score,
                    located=located,
                    sequence=driver.planned_stops + 1,
                    eta=eta,
                    late_minutes=late,
                ),
                driver,
                trip,
            )
        if best is None:
            result.unassigned.append(_unassigned_reason(task, eliminated, best_room, drivers))
            continue
        result.assignments.append(best)
        best_driver.latitude, best_driver.longitude = task.latitude, task.longitude
        best_driver.planned_stops += 1
        best_driver.planned_weight += task.weight
        best_driver.planned_volume += task.volume
        best_driver.planned_minutes += best_trip + task.service_minutes
        best_driver.available_from = best.eta + timedelta(minutes=task.service_minutes)
    return result


def _unassigned_reason(task: TaskInput, eliminated: dict, best_room, drivers) -> Unassigned:
    """Explain with the filter that stopped the drivers who got furthest."""
    capacities = [d.capacity_weight for d in drivers]
    if task.weight and capacities and all(capacities) and task.weight > max(capacities):
        return Unassigned(
            task.id,
            REASON_CAPACITY,
            _lt("it weighs %(weight)s, more than the largest vehicle carries (%(largest)s)"),
            {"weight": _fmt_kg(task.weight), "largest": _fmt_kg(max(capacities))},
        )
    # when "only" rules narrowed the choice, say so: the other drivers may well have room
    rules = {"rules": ", ".join(f"“{name}”" for name in task.only_rules)}
    if eliminated[REASON_STOPS]:
        if task.only_rules:
            return Unassigned(
                task.id,
                REASON_STOPS,
                _lt(
                    "every available driver among those the rule %(rules)s allows has reached their "
                    "maximum number of stops"
                ),
                rules,
            )
        return Unassigned(
            task.id, REASON_STOPS, _lt("every available driver has reached their maximum number of stops")
        )
    if eliminated[REASON_CAPACITY]:
        room = {"weight": _fmt_kg(task.weight), "room": _fmt_kg(max(best_room or 0, 0))}
        if task.only_rules:
            return Unassigned(
                task.id,
                REASON_CAPACITY,
                _lt(
                    "no vehicle among the drivers the rule %(rules)s allows has capacity left for "
                    "%(weight)s (most room left: %(room)s)"
                ),
                {**rules, **room},
            )
        return Unassigned(
            task.id,
            REASON_CAPACITY,
            _lt("no vehicle has capacity left for %(weight)s (most room left: %(room)s)"),
            room,
        )
    if eliminated[REASON_SHIFT]:
        if any(_works_during(driver, task) for driver in drivers):
            return Unassigned(
                task.id,
                REASON_SHIFT,
                _lt("the drivers working then have no time left for it before their shift ends"),
            )
        return Unassigned(task.id, REASON_SHIFT, _lt("no driver on duty works during the delivery window"))
    if task.only_rules:
        return Unassigned(task.id, REASON_RULE, _lt("no driver on duty matches %(rules)s"), rules)
    return Unassigned(task.id, REASON_RULE, _lt("no driver on duty matches the dispatch rules"))

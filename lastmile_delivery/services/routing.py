"""Vehicle routing with time windows: plain data in, ordered routes out.

**Objective** (both backends, the same): the least total cost of the routes, where a vehicle's
route costs ``time_cost`` per unit of working time (from leaving to being back: driving,
waiting, serving and breaks) plus ``distance_cost`` per unit of distance, plus
``Problem.preference_cost`` for each stop served by a vehicle it does not prefer
(``Stop.preferred_vehicle_ids``: "prefer" dispatch rules). Leaving a stop out costs more than
any vehicle could spend serving it (:func:`drop_penalty`): a plan serves as many stops as it
can first, then costs the least. All times are integers in seconds (or any unit,
consistently), distances integers in meters, loads integers per dimension (weight, volume…).

**Rules**: time windows (service starts within them, waiting allowed), service times, shifts,
several vehicles and depots, capacities in several dimensions, maximum stops, stops that only
some vehicles may serve (``vehicle_ids``: skills, "only" dispatch rules) or one (``vehicle_id``:
pinned), breaks of each driver (fixed, or flexible: a duration to start within a window),
drivers on the road (``locked`` stops under way keep their place; the route starts where and
when they are), stops on board (``Stop.required``: served by their vehicle, late if need be,
never dropped), pickup-and-delivery pairs, and optional stops.

Two backends behind one interface:

* **PyVRP** (iterated local search) finds markedly better plans in the same time. Allowed and
  pinned vehicles become routing profiles (in a vehicle's profile, the stops it may not serve
  are out of reach, and those it does not prefer cost more); a driver on the road starts where
  and when the locked part of the route ends; breaks are placed in each route afterwards
  (:func:`schedule`).
* **OR-Tools** routing expresses the rest: lateness (``soft_late_penalty``, or stops on board
  that can only be late), break intervals inside the search, and a warm start from existing
  routes.

``engine="auto"`` runs PyVRP when the problem fits it and takes its plan when that plan keeps
every rule with the breaks placed; else OR-Tools.

Before solving, stops that no vehicle can possibly serve are set aside with a reason; stops the
solver leaves out get one too, so a plan is usually partial rather than empty. Every plan goes
through :func:`check`, which shares no code with the backends; a plan that breaks a rule, or no
plan at all, comes back as a :class:`Solution` with ``error`` set and no routes, so that a
caller keeps its previous plan. The same problem with the same seed and ``iteration_limit``
gives the same plan on the same machine (whether PyVRP's searches run side by side depends on
its cores, see :func:`_pyvrp_strategies`).

Matrices are numpy arrays (lists are accepted); they are not copied into Python objects on the
way to PyVRP. Each backend's search runs in a child process (see ``_CHILD``); PyVRP runs two
searches side by side, then (given 4 s or more) two more from the better plan, when the machine
has the cores and the memory (see :func:`_solve_pyvrp`).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import logging
import math
import os
import pickle
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

_logger = logging.getLogger(__name__)


def _lt(template: str) -> str:
    """``template``, marked for translation: a text for people is an English template whose
    ``%(name)s`` placeholders come with it as params; Odoo's extraction puts the ``_lt("...")``
    calls in the module's .pot and the models show ``env._(template, **params)``."""
    return template


HORIZON = 7 * 24 * 3600  # a week, in seconds

REASON_CAPACITY = "capacity"
REASON_WINDOW = "window"
REASON_VEHICLE = "vehicle"
REASON_PAIR = "pair"
REASON_DROPPED = "dropped"
DROPPED_DETAIL = _lt("no route has room for it within the time windows, shifts and capacities")
REASON_NO_VEHICLE = "no_vehicle"
CRASHED = _lt("the %(engine)s search stopped with an error (%(reason)s)")

# bytes a PyVRP search may take for its travel matrices; beyond, the problem goes to OR-Tools.
# A pair of matrices per routing profile takes about four times its size (the model's, PyVRP's
# copy and its working data: measured 1.45 GiB for one profile of 5,201 places, 2.7 GiB for 43
# profiles of 1,001 places, the search's child process at its peak)
PYVRP_MATRIX_BUDGET = 2048 * 1024 * 1024
PYVRP_MATRIX_FACTOR = 4

# PyVRP's searches (see _PyvrpModel), side by side when there are cores and memory for both;
# then, given 4 s or more, two CONTINUE searches go on from the cheaper plan
COUNT_FIRST = "count"
DISTANCE_FIRST = "distance"
CONTINUE = "continue"


@dataclass(frozen=True)
class Break:
    """A break of ``duration`` that starts between ``earliest`` and ``latest`` (equal for a
    fixed break), between two stops, wherever the driver is then. A driver who is not at work
    then (back before ``latest``, or leaving after the break could end) takes it off the
    route."""

    earliest: int
    latest: int
    duration: int


@dataclass
class Vehicle:
    id: Hashable
    start: int  # location index
    end: int | None = None  # location index; None: the route ends at its last stop
    capacity: int | Sequence[int] = 0  # per load dimension; 0: unlimited
    max_stops: int = 0  # 0: unlimited
    shift_start: int = 0
    shift_end: int = HORIZON
    # objective weights, per unit of the matrices: seconds of working time by default
    time_cost: int = 1
    distance_cost: int = 0
    locked: Sequence[Hashable] = ()  # stop ids that start the route, in this order
    # on the road: the route starts exactly at shift_start (now) from ``start`` (where it is)
    fixed_start: bool = False
    breaks: Sequence[Break] = ()

    @property
    def on_the_road(self) -> bool:
        return self.fixed_start or bool(self.locked)


@dataclass
class Stop:
    id: Hashable
    location: int
    # per load dimension: loaded at the depot and delivered here (or from its pickup)
    demand: int | Sequence[int] = 0
    window_start: int = 0
    window_end: int = HORIZON
    service: int = 0
    priority: int = 0  # higher: more important not to drop
    vehicle_id: Hashable | None = None  # pinned vehicle
    vehicle_ids: Sequence[Hashable] | None = None  # or: only these vehicles (dispatch rules)
    # served by another vehicle, it costs Problem.preference_cost ("prefer" dispatch rules)
    preferred_vehicle_ids: Sequence[Hashable] | None = None
    pickup_id: Hashable | None = None  # this stop delivers what stop ``pickup_id`` picked up
    is_pickup: bool = False
    # on board the pinned vehicle already: it is served by that vehicle even late (its window
    # is soft, the lateness reported) and even past the end of the shift; never dropped
    required: bool = False

    def allowed(self, vehicle_id) -> bool:
        if self.vehicle_id is not None:
            return vehicle_id == self.vehicle_id
        return self.vehicle_ids is None or vehicle_id in self.vehicle_ids

    def preferred(self, vehicle_id) -> bool:
        return self.preferred_vehicle_ids is None or vehicle_id in self.preferred_vehicle_ids


def _loads(value, dimensions: int) -> tuple:
    """A load or capacity as a tuple of ``dimensions`` integers."""
    values = (value,) if isinstance(value, (int, np.integer)) else tuple(value)
    return tuple(int(v) for v in values) + (0,) * (dimensions - len(values))


def sum_loads(values):
    """The sum of loads: an integer for integers, else per dimension."""
    values = list(values)
    if all(isinstance(v, (int, np.integer)) for v in values):
        return int(sum(values))
    dimensions = max(len(_loads(v, 0)) for v in values)
    return tuple(sum(column) for column in zip(*(_loads(v, dimensions) for v in values), strict=True))


class Restrictions(NamedTuple):
    """What a vehicle's routing profile holds: the stops it may not serve, those it does not
    prefer, and its cost per distance when there are such (their arcs carry the whole cost)."""

    forbidden: frozenset
    unpreferred: frozenset
    distance_cost: int | None


@dataclass
class Problem:
    durations: Sequence[Sequence[int]]  # numpy array or lists
    distances: Sequence[Sequence[int]]
    vehicles: Sequence[Vehicle]
    stops: Sequence[Stop]
    soft_late_penalty: int | None = None  # cost per time unit late; None: windows are hard
    preference_cost: int = 0  # per stop served by a vehicle it does not prefer
    time_limit: float = 5.0  # seconds of search
    iteration_limit: int | None = None  # set it for a reproducible result
    seed: int = 1
    engine: str = "auto"  # auto, ortools or pyvrp
    initial_routes: dict | None = None  # {vehicle id: [stop ids]} to start the search from

    def __post_init__(self):
        self.durations = np.asarray(self.durations, dtype=np.int64)
        self.distances = np.asarray(self.distances, dtype=np.int64)
        if self.durations.size == 0:
            self.durations = self.durations.reshape(0, 0)
        if self.distances.size == 0:
            self.distances = self.distances.reshape(0, 0)

    def must_serve(self, stop: Stop) -> bool:
        """Stops that are on board or under way: served whatever it costs, never dropped."""
        return stop.id in self._must_serve_ids

    def soft_window(self, stop: Stop) -> bool:
        return self.soft_late_penalty is not None or stop.id in self._must_serve_ids

    def carries_work(self, vehicle: Vehicle) -> bool:
        """A vehicle with stops on board finishes them even past the end of its shift."""
        return vehicle.id in self._on_board

    @functools.cached_property
    def dimensions(self) -> int:
        sizes = [len(_loads(s.demand, 0)) for s in self.stops] + [
            len(_loads(v.capacity, 0)) for v in self.vehicles
        ]
        return max([*sizes, 1])

    def demand(self, stop: Stop) -> tuple:
        return self._demands[stop.id]

    @functools.cached_property
    def _demands(self) -> dict:
        return {s.id: _loads(s.demand, self.dimensions) for s in self.stops}

    def capacity(self, vehicle: Vehicle) -> tuple:
        """The vehicle's capacity per dimension, or what it already carries when that is more
        (goods on board are on board): 0 means unlimited."""
        capacity = _loads(vehicle.capacity, self.dimensions)
        carried = self._on_board.get(vehicle.id, (0,) * self.dimensions)
        return tuple(max(c, k) if c else 0 for c, k in zip(capacity, carried, strict=True))

    def max_stops(self, vehicle: Vehicle) -> int:
        """The vehicle's maximum stops, or the stops it carries when they are more: 0 means
        unlimited."""
        return max(vehicle.max_stops, self._on_board_stops.get(vehicle.id, 0)) if vehicle.max_stops else 0

    def leaving_load(self, stops: Sequence[Stop]) -> tuple:
        """What a vehicle serving ``stops`` leaves its depot with: the deliveries that are not
        part of a pickup-and-delivery pair."""
        return _add(
            *(self.demand(s) for s in stops if s.pickup_id is None and not s.is_pickup), dims=self.dimensions
        )

    @functools.cached_property
    def restrictions(self) -> dict:
        """{vehicle id: its :class:`Restrictions`} of the vehicles that have some: the stops it
        may not serve and, with a preference cost, those it does not prefer."""
        keys = {}
        for vehicle in self.vehicles:
            forbidden = frozenset(s.id for s in self.stops if not s.allowed(vehicle.id))
            unpreferred = (
                frozenset(s.id for s in self.stops if not s.preferred(vehicle.id))
                if self.preference_cost
                else frozenset()
            )
            if forbidden or unpreferred:
                keys[vehicle.id] = Restrictions(
                    forbidden, unpreferred, vehicle.distance_cost if unpreferred else None
                )
        return keys

    @functools.cached_property
    def stops_by_id(self) -> dict:
        return {s.id: s for s in self.stops}

    @functools.cached_property
    def vehicles_by_id(self) -> dict:
        return {v.id: v for v in self.vehicles}

    @functools.cached_property
    def _must_serve_ids(self) -> frozenset:
        return frozenset(s.id for s in self.stops if s.required) | {
            sid for v in self.vehicles for sid in v.locked
        }

    @functools.cached_property
    def _carried(self) -> dict:
        """{stop id: vehicle id} of the stops on board or under way."""
        pinned = {s.id: s.vehicle_id for s in self.stops if s.required}
        pinned.update({sid: v.id for v in self.vehicles for sid in v.locked})
        return pinned

    @functools.cached_property
    def _on_board(self) -> dict:
        """{vehicle id: load of the stops it carries already} for vehicles carrying some."""
        loads = {}
        for stop in self.stops:
            if stop.id in self._carried:
                vehicle_id = self._carried[stop.id]
                loads[vehicle_id] = _add(
                    loads.get(vehicle_id, ()), self.leaving_load([stop]), dims=self.dimensions
                )
        return loads

    @functools.cached_property
    def _on_board_stops(self) -> dict:
        return Counter(self._carried.values())

    @functools.cached_property
    def longest_trip(self) -> int:
        return int(self.durations.max()) if self.durations.size else 0

    @functools.cached_property
    def horizon(self) -> int:
        """A time by which every plan is over: the latest shift end or window end, plus room
        for the longest trip there and back, and every break."""
        ends = [v.shift_end for v in self.vehicles] + [
            s.window_end for s in self.stops if s.window_end < HORIZON
        ]
        starts = [v.shift_start for v in self.vehicles]
        breaks = max([sum(b.duration for b in v.breaks) for v in self.vehicles] + [0])
        return max([*ends, *starts, 0]) + 2 * max(self.longest_trip, 1) + breaks

    @functools.cached_property
    def penalty_unit(self) -> int:
        """More than what serving one more stop can add to any vehicle's cost: its working
        time is bounded by the horizon, and a detour adds at most two of the longest trips."""
        span = self.horizon + 2 * max(self.longest_trip, 1)
        longest = int(self.distances.max()) if self.distances.size else 1
        return (
            1
            + max([v.time_cost * span + v.distance_cost * 2 * longest for v in self.vehicles] + [span])
            + max(self.preference_cost, 0)
        )

    @functools.cached_property
    def detour_unit(self) -> int:
        """Twice what a detour to serve one stop can cost at any vehicle's costs (there and
        back on the longest trip, and the longest service), waiting aside (as the bench's PyVRP
        peer prices a stop, measured there); at most :attr:`penalty_unit`, which is above what
        waiting up to the horizon could cost too."""
        longest = int(self.distances.max()) if self.distances.size else 1
        work = 2 * max(self.longest_trip, 1) + max([s.service for s in self.stops] + [0])
        detours = [2 * (v.time_cost * work + v.distance_cost * 2 * longest) for v in self.vehicles]
        return min(1 + max([*detours, 0]) + max(self.preference_cost, 0), self.penalty_unit)


def _add(*loads, dims: int) -> tuple:
    total = [0] * dims
    for load in loads:
        for k, amount in enumerate(load):
            total[k] += amount
    return tuple(total)


def _over(load: Sequence[int], capacity: Sequence[int]) -> int | None:
    """The first dimension in which ``load`` is above a limited ``capacity``, or None."""
    return next((k for k, (a, c) in enumerate(zip(load, capacity, strict=True)) if c and a > c), None)


@dataclass
class Visit:
    stop_id: Hashable
    arrival: int
    start: int  # service starts
    departure: int
    wait: int
    late: int
    load: tuple  # on board when leaving, per dimension


@dataclass
class BreakTaken:
    index: int  # in the vehicle's breaks
    position: int  # before travelling to the visit of this index (its number of visits: at the end)
    start: int
    end: int


@dataclass
class Route:
    vehicle_id: Hashable
    visits: list
    start_time: int
    end_time: int
    distance: int
    duration: int
    breaks: list = field(default_factory=list)  # BreakTaken


@dataclass
class Unserved:
    stop_id: Hashable
    reason: str
    # a template marked for translation, with its ``params`` (see :func:`_lt`); for
    # REASON_CAPACITY, English only (the loads in the engine's units: say it in the shop's)
    detail: str
    dimension: int | None = None  # the load dimension, for REASON_CAPACITY
    params: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The detail in English."""
        return self.detail % self.params if self.params else self.detail


@dataclass
class Solution:
    routes: list = field(default_factory=list)
    unserved: list = field(default_factory=list)
    engine: str = ""
    seconds: float = 0.0
    # no plan: why (the search found none, or what it found breaks a rule), a template marked
    # for translation with its ``error_params`` (see :func:`_lt`); routes are empty
    error: str = ""
    error_params: dict = field(default_factory=dict)

    @property
    def error_text(self) -> str:
        """Why there is no plan, in English."""
        return self.error % self.error_params if self.error_params else self.error

    @property
    def distance(self) -> int:
        return sum(route.distance for route in self.routes)

    @property
    def duration(self) -> int:
        return sum(route.duration for route in self.routes)

    @property
    def late_visits(self) -> list:
        """(vehicle id, visit) of every stop served after its window."""
        return [(route.vehicle_id, visit) for route in self.routes for visit in route.visits if visit.late]

    @property
    def feasible(self) -> bool:
        """A plan was found, it passed :func:`check`, and it serves every stop on time."""
        return not self.error and not self.late_visits


class RoutingError(Exception):
    """The problem is malformed (inconsistent sizes, unknown ids) or the backend asked for
    cannot express it."""


def cost(problem: Problem, solution: Solution) -> int:
    """The objective of a plan (see the module's docstring): each stop of ``problem`` that no
    route visits costs its drop penalty (whether the plan lists it as unserved yet or not)."""
    vehicles = problem.vehicles_by_id
    visited = {visit.stop_id for route in solution.routes for visit in route.visits}
    routes = sum(_route_cost(problem, vehicles[route.vehicle_id], route) for route in solution.routes)
    return routes + sum(drop_penalty(problem, s) for s in problem.stops if s.id not in visited)


def _route_cost(problem: Problem, vehicle: Vehicle, route: Route) -> int:
    stops = problem.stops_by_id
    unpreferred = sum(1 for visit in route.visits if not stops[visit.stop_id].preferred(vehicle.id))
    return (
        vehicle.time_cost * route.duration
        + vehicle.distance_cost * route.distance
        + problem.preference_cost * unpreferred
    )


# ---------------------------------------------------------------------------- checks


def _validate(problem: Problem) -> None:
    n = len(problem.durations)
    if problem.durations.ndim != 2 or problem.durations.shape != (n, n) or problem.distances.shape != (n, n):
        raise RoutingError("the duration and distance matrices must be square and of the same size")
    stop_ids = [s.id for s in problem.stops]
    if len(set(stop_ids)) != len(stop_ids):
        raise RoutingError("stop ids must be unique")
    vehicle_ids = {v.id for v in problem.vehicles}
    if len(vehicle_ids) != len(problem.vehicles):
        raise RoutingError("vehicle ids must be unique")
    known = set(stop_ids)
    for stop in problem.stops:
        if not 0 <= stop.location < n:
            raise RoutingError(f"stop {stop.id}: location {stop.location} is not in the matrix")
        if stop.pickup_id is not None and stop.pickup_id not in known:
            raise RoutingError(f"stop {stop.id}: its pickup {stop.pickup_id} is not a stop")
        if stop.required and stop.vehicle_id not in vehicle_ids:
            raise RoutingError(f"stop {stop.id}: a stop on board must be pinned to one of the vehicles")
        if any(amount < 0 for amount in problem.demand(stop)):
            raise RoutingError(f"stop {stop.id}: a load cannot be negative")
    for vehicle in problem.vehicles:
        for loc in (vehicle.start, vehicle.end):
            if loc is not None and not 0 <= loc < n:
                raise RoutingError(f"vehicle {vehicle.id}: location {loc} is not in the matrix")
        for stop_id in vehicle.locked:
            if stop_id not in known:
                raise RoutingError(f"vehicle {vehicle.id}: locked stop {stop_id} is not a stop")
        for brk in vehicle.breaks:
            if brk.duration < 0 or brk.latest < brk.earliest:
                raise RoutingError(f"vehicle {vehicle.id}: a break must last 0 or more and start in a window")


def _precheck(problem: Problem) -> list[Unserved]:
    """Stops that no vehicle can serve whatever the plan, with the reason."""
    if not problem.vehicles:
        return [Unserved(s.id, REASON_NO_VEHICLE, _lt("no vehicle is available")) for s in problem.stops]
    out = []
    pair_load = {stop.pickup_id: problem.demand(stop) for stop in problem.stops if stop.pickup_id is not None}
    capacities = {v.id: problem.capacity(v) for v in problem.vehicles}
    for stop in problem.stops:
        if problem.must_serve(stop):
            continue
        vehicles = [v for v in problem.vehicles if stop.allowed(v.id)]
        if not vehicles:
            out.append(
                Unserved(
                    stop.id,
                    REASON_VEHICLE,
                    _lt("the drivers it may go with are off duty or not working then"),
                )
            )
            continue
        load = pair_load.get(stop.id, problem.demand(stop))
        if all(_over(load, capacities[v.id]) is not None for v in vehicles):
            out.append(_too_big(problem, stop, load, [capacities[v.id] for v in vehicles]))
            continue
        if not any(_reachable(problem, v, stop) for v in vehicles):
            out.append(
                Unserved(
                    stop.id, REASON_WINDOW, _lt("no vehicle can reach it within its time window and shift")
                )
            )
    # a pair is served whole or not at all
    unserved = {u.stop_id for u in out}
    for stop in problem.stops:
        if stop.pickup_id is not None and (stop.id in unserved) != (stop.pickup_id in unserved):
            other = stop.pickup_id if stop.id in unserved else stop.id
            out.append(
                Unserved(
                    other, REASON_PAIR, _lt("the other stop of its pickup-and-delivery pair cannot be served")
                )
            )
            unserved.add(other)
    return out


def _too_big(problem: Problem, stop: Stop, load: tuple, capacities: list) -> Unserved:
    """Why a load no vehicle can take is left out: the dimension in which it is above every
    vehicle's capacity, or, when each vehicle lacks room in another one, all of them."""
    for k, amount in enumerate(load):
        limits = [c[k] for c in capacities]
        if all(limits) and amount > max(limits):
            unit = f" in dimension {k + 1}" if problem.dimensions > 1 else ""
            detail = f"its load {amount} is above every vehicle's capacity ({max(limits)}){unit}"
            return Unserved(stop.id, REASON_CAPACITY, detail, dimension=k)
    return Unserved(stop.id, REASON_CAPACITY, f"no vehicle has room for its load {load} in every dimension")


def _reachable(problem: Problem, vehicle: Vehicle, stop: Stop) -> bool:
    """Whether the vehicle, going straight there at the start of its shift, serves the stop in
    its window and is back in time (breaks aside)."""
    dur = problem.durations
    earliest = max(vehicle.shift_start + int(dur[vehicle.start, stop.location]), stop.window_start)
    back = int(dur[stop.location, vehicle.end]) if vehicle.end is not None else 0
    on_time = problem.soft_late_penalty is not None or earliest <= stop.window_end
    return on_time and earliest + stop.service + back <= vehicle.shift_end


def check(problem: Problem, solution: Solution) -> list[str]:
    """Every rule a plan must keep, checked from the routes' sequences, start times and breaks
    alone (no code shared with the backends). Returns the violations, an empty list for a good
    plan.

    Rules: each stop is served once or reported unserved once, never both; stops on board or
    under way are served by their vehicle, locked ones first and in order; a vehicle drives one
    route, of stops it may serve, within each dimension of its capacity, its maximum stops and
    its shift (a vehicle with stops on board may finish late); service starts within each
    window unless lateness is allowed for that stop; pickups come before their delivery, on the
    same route; each break of the driver is taken in its window when the driver is at work then.
    """
    errors = []
    stops = {s.id: s for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}
    served = [visit.stop_id for route in solution.routes for visit in route.visits]
    unserved = [u.stop_id for u in solution.unserved]
    for stop_id, count in Counter(served).items():
        if count > 1:
            errors.append(f"stop {stop_id} is visited {count} times")
    for stop_id, count in Counter(unserved).items():
        if count > 1:
            errors.append(f"stop {stop_id} is reported unserved {count} times")
    for stop_id in set(served) & set(unserved):
        errors.append(f"stop {stop_id} is both served and reported unserved")
    for stop_id in (set(served) | set(unserved)) - set(stops):
        errors.append(f"stop {stop_id} is not a stop of the problem")
    for stop_id in set(stops) - set(served) - set(unserved):
        errors.append(f"stop {stop_id} is neither served nor reported unserved")
    for vehicle_id, count in Counter(route.vehicle_id for route in solution.routes).items():
        if count > 1:
            errors.append(f"vehicle {vehicle_id} drives {count} routes")
    for stop in problem.stops:
        if problem.must_serve(stop) and stop.id in unserved:
            errors.append(f"stop {stop.id} is on board or under way but left out")
    for route in solution.routes:
        vehicle = vehicles.get(route.vehicle_id)
        if vehicle is None:
            errors.append(f"route of unknown vehicle {route.vehicle_id}")
            continue
        sequence = [visit.stop_id for visit in route.visits if visit.stop_id in stops]
        errors += _check_route(
            problem, vehicle, [stops[sid] for sid in sequence], route.start_time, route.breaks
        )
    for vehicle in problem.vehicles:
        route = next((r for r in solution.routes if r.vehicle_id == vehicle.id), None)
        sequence = [visit.stop_id for visit in route.visits] if route else []
        if list(vehicle.locked) != sequence[: len(vehicle.locked)]:
            errors.append(
                f"vehicle {vehicle.id}: its stops under way {list(vehicle.locked)} do not start its route"
            )
    return errors


def _check_route(problem, vehicle, stops, start_time, breaks) -> list[str]:
    errors = []
    name = f"vehicle {vehicle.id}"
    dur = problem.durations
    dims = problem.dimensions
    if start_time < vehicle.shift_start or (vehicle.on_the_road and start_time != vehicle.shift_start):
        errors.append(f"{name} leaves at {start_time}, its shift starts at {vehicle.shift_start}")
    max_stops = problem.max_stops(vehicle)
    if max_stops and len(stops) > max_stops:
        errors.append(f"{name} serves {len(stops)} stops, at most {max_stops}")
    position = {stop.id: i for i, stop in enumerate(stops)}
    pair_demand = {s.pickup_id: _loads(s.demand, dims) for s in problem.stops if s.pickup_id is not None}
    load = [0] * dims
    for s in stops:
        if s.pickup_id is None and not s.is_pickup:
            for k, amount in enumerate(_loads(s.demand, dims)):
                load[k] += amount
    peak = list(load)
    taken = {}
    for brk in breaks:
        if not 0 <= brk.index < len(vehicle.breaks) or brk.index in taken:
            errors.append(f"{name} takes an unknown break or one twice")
            continue
        taken[brk.index] = brk
        if not 0 <= brk.position <= len(stops):
            errors.append(f"{name} takes a break at place {brk.position} of a route of {len(stops)} stops")
    by_position = {}
    for brk in taken.values():
        by_position.setdefault(brk.position, []).append(brk)
    now, here = start_time, vehicle.start

    def travel(at, leg):
        """Arrival after a leg begun now, with the breaks taken on it (the drive stops for
        them); each break checked against its rule."""
        arrival, free = now + leg, now
        for brk in sorted(by_position.get(at, []), key=lambda b: b.start):
            rule = vehicle.breaks[brk.index]
            if brk.start < free or not rule.earliest <= brk.start <= rule.latest:
                errors.append(f"{name} starts its break at {brk.start}, outside its window or at work")
            if brk.end - brk.start != rule.duration:
                errors.append(f"{name}'s break lasts {brk.end - brk.start}, not {rule.duration}")
            # on the road when it starts: the rest of the drive comes after; else at the door
            arrival = max(arrival, brk.start) + rule.duration
            free = brk.start + rule.duration
        return arrival

    for i, stop in enumerate(stops):
        if not stop.allowed(vehicle.id):
            errors.append(f"{name} may not serve stop {stop.id}")
        if stop.pickup_id is not None and position.get(stop.pickup_id, len(stops)) > position[stop.id]:
            errors.append(
                f"{name}: stop {stop.id} is delivered without its pickup {stop.pickup_id} before it"
            )
        if stop.is_pickup and not any(s.pickup_id == stop.id for s in stops):
            errors.append(f"{name}: pickup {stop.id} without its delivery on the same route")
        begin = max(travel(i, int(dur[here, stop.location])), stop.window_start)
        if begin > stop.window_end and not problem.soft_window(stop):
            errors.append(
                f"{name} serves stop {stop.id} at {begin}, after its window ends ({stop.window_end})"
            )
        amounts = pair_demand.get(stop.id, _loads(stop.demand, dims))
        for k, amount in enumerate(amounts):
            load[k] += amount if stop.is_pickup else -amount
            peak[k] = max(peak[k], load[k])
        now, here = begin + stop.service, stop.location
    end = travel(len(stops), int(dur[here, vehicle.end]) if vehicle.end is not None else 0)
    if end > vehicle.shift_end and not problem.carries_work(vehicle):
        errors.append(f"{name} is back at {end}, after its shift ends ({vehicle.shift_end})")
    capacity = problem.capacity(vehicle)
    for k, (amount, limit) in enumerate(zip(peak, capacity, strict=True)):
        if limit and amount > limit:
            unit = f" in dimension {k + 1}" if dims > 1 else ""
            errors.append(f"{name} carries {amount}, more than its capacity {limit}{unit}")
    if stops:
        for index, rule in enumerate(vehicle.breaks):
            # at work at the break's latest start, with no room for it before leaving: due
            had_it = start_time >= max(rule.earliest, vehicle.shift_start) + rule.duration
            if index not in taken and not had_it and end > rule.latest:
                errors.append(f"{name} works from {start_time} to {end} without its break {index + 1}")
    return errors


# ---------------------------------------------------------------------------- costs


def drop_penalty(problem: Problem, stop: Stop) -> int:
    """What leaving ``stop`` out costs: more than any vehicle would spend serving it, whatever
    the vehicles' costs per hour and per km, so a stop that fits somewhere is always served;
    more again for urgent stops."""
    return problem.penalty_unit * (1 + max(stop.priority, 0))


def _must_serve_weight(problem: Problem) -> int:
    """Cost of a second of lateness of a stop on board (and of overtime of its vehicle): above
    any drop penalty, so no new stop is taken on at the price of making loaded ones later."""
    top = max([max(s.priority, 0) for s in problem.stops] + [0])
    return problem.penalty_unit * (2 + top)


# ---------------------------------------------------------------------------- solve


def pyvrp_refusal(problem: Problem) -> str:
    """Why PyVRP cannot express ``problem``, or an empty string."""
    if problem.soft_late_penalty is not None:
        return "soft time windows"
    if problem.initial_routes:
        return "a warm start"
    if not _pyvrp_available():
        return "PyVRP is not installed"
    if any(v.max_stops for v in problem.vehicles) and any(s.pickup_id is not None for s in problem.stops):
        return "pickup-and-delivery pairs with a maximum of stops"
    late = [s.id for s in problem.stops if s.required and not _on_time_possible(problem, s)]
    if late:
        return f"stops on board that can only be late ({', '.join(map(str, late[:3]))})"
    if _pyvrp_bytes(problem) > PYVRP_MATRIX_BUDGET:
        size = len(problem.durations)
        profiles = len(set(problem.restrictions.values())) + 1
        return f"{profiles} routing profiles of {size} places are above the memory budget"
    return ""


def _pyvrp_bytes(problem: Problem) -> int:
    """What a PyVRP search of ``problem`` takes for its travel matrices (see
    ``PYVRP_MATRIX_BUDGET``)."""
    size = len(problem.durations)
    profiles = len(set(problem.restrictions.values())) + 1
    return profiles * 2 * size * size * 8 * PYVRP_MATRIX_FACTOR


def _on_time_possible(problem: Problem, stop: Stop) -> bool:
    """Whether the stop's vehicle, going straight there once its locked stops are done,
    serves it in its window."""
    place, moment = _free_start(problem, problem.vehicles_by_id[stop.vehicle_id])
    return moment + int(problem.durations[place, stop.location]) <= stop.window_end


def _free_start(problem: Problem, vehicle: Vehicle) -> tuple:
    """(place, time) where the vehicle's route is free to change: its start, or where its
    locked stops end."""
    if not vehicle.locked:
        return vehicle.start, vehicle.shift_start
    stops = [problem.stops_by_id[s] for s in vehicle.locked]
    prefix = _timeline(problem, vehicle, stops, vehicle.shift_start, {})
    return stops[-1].location, prefix.visits[-1].departure


def solve(problem: Problem) -> Solution:
    """Plan the routes. Infeasible stops come back unserved with a reason; when no plan is
    found, or the plan found breaks a rule, the solution carries ``error`` and no routes."""
    _validate(problem)
    started = time.perf_counter()
    unserved = _precheck(problem)
    excluded = {u.stop_id for u in unserved}
    stops = [s for s in problem.stops if s.id not in excluded]
    sub = dataclasses.replace(problem, stops=stops)
    engine = problem.engine
    if engine not in ("auto", "ortools", "pyvrp"):
        raise RoutingError(f"unknown engine {engine!r}")
    refusal = pyvrp_refusal(sub) if engine != "ortools" else ""
    if engine == "pyvrp" and refusal:
        raise RoutingError(
            f"PyVRP cannot express {refusal}: use the 'ortools' or 'auto' engine for this problem."
        )
    if not stops or not problem.vehicles:
        return _finish(problem, sub, Solution(routes=[], engine=engine), unserved, started)
    if engine == "ortools" or refusal:
        return _finish(problem, sub, _solve_ortools(sub), unserved, started)
    solution = _finish(problem, sub, _solve_pyvrp(sub), unserved, started)
    if engine == "pyvrp" or not solution.error:
        return solution
    # PyVRP found no plan that keeps every rule (stops on board that can only be late, which
    # it cannot express): OR-Tools plans with lateness
    # within a quarter more than the time limit in all
    left = problem.time_limit * 1.25 - (time.perf_counter() - started)
    fallback = _solve_ortools(dataclasses.replace(sub, time_limit=max(left, 1.0)))
    return _finish(problem, sub, fallback, unserved, started)


def _finish(problem: Problem, sub: Problem, solution: Solution, unserved: list, started: float) -> Solution:
    """A backend's plan made whole: the stops it left out explained, breaks placed, what a
    break made late moved where it fits, then checked."""
    solution.seconds = time.perf_counter() - started
    if solution.error:
        return solution
    # whatever the backend left out, and did not explain itself, it dropped
    accounted = {v.stop_id for route in solution.routes for v in route.visits} | {
        u.stop_id for u in solution.unserved
    }
    dropped = [Unserved(s.id, REASON_DROPPED, DROPPED_DETAIL) for s in sub.stops if s.id not in accounted]
    solution.unserved = unserved + solution.unserved + dropped
    _release_late(sub, solution)
    # a plan searched to an iteration limit is repaired whole, the same each time
    budget = math.inf if problem.iteration_limit else max(1.0, problem.time_limit * 0.2)
    _repair(sub, solution, deadline=time.perf_counter() + budget)
    solution.seconds = time.perf_counter() - started
    violations = check(problem, solution)
    if violations:  # in the engine's ids and units: for the log, not for the dispatcher
        _logger.warning("The %s plan breaks %s rule(s): %s", solution.engine, len(violations), violations[:5])
        return Solution(
            engine=solution.engine,
            seconds=solution.seconds,
            error=_lt("the %(engine)s plan breaks %(count)s rule(s) (the server log says which)"),
            error_params={
                "engine": _BACKEND_NAMES.get(solution.engine, solution.engine),
                "count": len(violations),
            },
        )
    return solution


def _pyvrp_available() -> bool:
    try:
        import pyvrp  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def _release_late(problem: Problem, solution: Solution) -> None:
    """A plan whose breaks make a stop late (the search did not see them) or a driver finish
    after the shift: the stops concerned leave the route, from the last one, until it keeps its
    windows and shift; :func:`_repair` then puts them where they fit. Stops on board stay."""
    vehicles = problem.vehicles_by_id
    stops = problem.stops_by_id
    routes = []
    for route in solution.routes:
        vehicle = vehicles[route.vehicle_id]
        sequence = [visit.stop_id for visit in route.visits]
        start = route.start_time if vehicle.on_the_road else None
        while sequence and _late_or_over(problem, vehicle, route):
            movable = [
                visit.stop_id
                for visit in route.visits
                if not problem.must_serve(stops[visit.stop_id])
                and stops[visit.stop_id].pickup_id is None
                and not stops[visit.stop_id].is_pickup
            ]
            if not movable:
                break
            late = [v.stop_id for v in route.visits if v.late and v.stop_id in movable]
            out = late[0] if late else movable[-1]
            sequence.remove(out)
            solution.unserved.append(Unserved(out, REASON_DROPPED, DROPPED_DETAIL))
            route = schedule(problem, vehicle, sequence, start)
        if sequence:
            routes.append(route)
    solution.routes = routes


def _late_or_over(problem: Problem, vehicle: Vehicle, route: Route) -> bool:
    stops = problem.stops_by_id
    late = any(v.late and not problem.soft_window(stops[v.stop_id]) for v in route.visits)
    return late or (route.end_time > vehicle.shift_end and not problem.carries_work(vehicle))


def _repair(problem: Problem, solution: Solution, deadline: float) -> None:
    """Insert the stops the search dropped wherever they still fit (on time, within capacity,
    maximum stops, shift and breaks), most important first, at the cheapest of the places
    that cost least without breaks: a search stopped by its time limit, or not seeing the
    breaks, may leave out a stop that fits. Stops of pickup-and-delivery pairs are left as
    they are."""
    dropped = [u for u in solution.unserved if u.reason == REASON_DROPPED]
    if not dropped:
        return
    stops = problem.stops_by_id
    routes = {route.vehicle_id: route for route in solution.routes}
    order = sorted(
        (u for u in dropped if stops[u.stop_id].pickup_id is None and not stops[u.stop_id].is_pickup),
        key=lambda u: (-stops[u.stop_id].priority, stops[u.stop_id].window_end, str(u.stop_id)),
    )
    for item in order:
        if time.perf_counter() > deadline:
            break
        best, empty, options = None, set(), []
        stop = stops[item.stop_id]
        for vehicle in problem.vehicles:
            current = routes.get(vehicle.id)
            if current is None:  # empty vehicles alike give the same route: one is tried
                alike = (
                    repr(dataclasses.replace(vehicle, id=None)),
                    stop.allowed(vehicle.id),
                    stop.preferred(vehicle.id),
                )
                if alike in empty:
                    continue
                empty.add(alike)
            sequence = [visit.stop_id for visit in current.visits] if current else []
            max_stops = problem.max_stops(vehicle)
            if not stop.allowed(vehicle.id) or (max_stops and len(sequence) >= max_stops):
                continue
            latest_end = max(vehicle.shift_end, current.end_time if current else 0)
            first = len([sid for sid in sequence if sid in set(vehicle.locked)])
            places = _bare_insertions(problem, vehicle, sequence, stop, first, latest_end)
            if places:
                options.append((min(extra for extra, _p in places), len(options), vehicle, current, sequence))
        # the vehicles where it costs least without breaks first: the best of the first three
        # where it fits with them
        fitting = 0
        for _extra, _n, vehicle, current, sequence in sorted(options, key=lambda option: option[:2]):
            if time.perf_counter() > deadline or fitting == 3:
                break
            found = best_insertion(problem, vehicle, sequence, item.stop_id, current)
            if not found:
                continue
            fitting += 1
            route = found[1]
            extra = _route_cost(problem, vehicle, route) - (
                _route_cost(problem, vehicle, current) if current else 0
            )
            if best is None or extra < best[0]:
                best = (extra, vehicle, route)
        if best:
            routes[best[1].id] = best[2]
            solution.unserved.remove(item)
    solution.routes = [routes[v.id] for v in problem.vehicles if v.id in routes]


# ---------------------------------------------------------------------------- visits


def merge_stops(stops: Sequence[Stop]) -> list[tuple[Stop, list]]:
    """Stops at one door, with the same vehicle rules, as few visits as their windows allow:
    ``[(visit, ids of the stops it stands for)]``, in the order of the stops. One visit
    delivers everything at once: the loads add up, the service time is the longest one (one
    parking, one doorbell), the window is the overlap of theirs. The visit keeps the id of its
    first stop."""
    if (
        len(
            {
                (
                    s.location,
                    s.vehicle_id,
                    _frozen(s.vehicle_ids),
                    _frozen(s.preferred_vehicle_ids),
                    s.required,
                )
                for s in stops
            }
        )
        > 1
    ):
        raise RoutingError("only stops at one place with the same vehicle rules make one visit")
    groups = []
    for stop in sorted(stops, key=lambda s: s.window_start):  # stable: the input order breaks ties
        if groups and stop.window_start <= min(s.window_end for s in groups[-1]):
            groups[-1].append(stop)
        else:
            groups.append([stop])
    merged = [
        (
            dataclasses.replace(
                group[0],
                demand=sum_loads(s.demand for s in group),
                window_start=max(s.window_start for s in group),
                window_end=min(s.window_end for s in group),
                service=max(s.service for s in group),
                priority=max(s.priority for s in group),
            ),
            [s.id for s in group],
        )
        for group in groups
    ]
    order = {s.id: position for position, s in enumerate(stops)}
    return sorted(merged, key=lambda item: min(order[i] for i in item[1]))


def _frozen(ids):
    return None if ids is None else frozenset(ids)


# ---------------------------------------------------------------------------- schedule


def schedule(
    problem: Problem, vehicle: Vehicle, stop_ids: Sequence[Hashable], start_time: int | None = None
) -> Route:
    """Times of a given sequence: arrival, wait, service start, lateness, load on board, and
    the driver's breaks.

    The vehicle leaves as late as it can without making the first stop wait (and never before
    its shift starts); the distance includes the way back to its end location. Each break due
    (the driver is at work at its latest start) goes between the two stops where it makes the
    least lateness, then the earliest return; it starts as soon as the driver is there and its
    window is open, so waiting for a window counts as break time.
    """
    by_id = problem.stops_by_id
    stops = [by_id[sid] for sid in stop_ids]
    if start_time is not None or vehicle.on_the_road or not stops:
        return _with_breaks(
            problem, vehicle, stops, vehicle.shift_start if start_time is None else start_time
        )[1]
    start_time = vehicle.shift_start
    start_time += _latest_departure(_timeline(problem, vehicle, stops, start_time, {}), stops)
    # breaks move the best departure: leave after a break rather than stop for it soon after
    # leaving, or earlier by a break's length to take it on the way
    starts = [start_time]
    for b in vehicle.breaks:
        if start_time < b.earliest + b.duration <= vehicle.shift_end:
            starts.append(b.earliest + b.duration)
        starts.append(max(start_time - b.duration, vehicle.shift_start))
    if vehicle.breaks:
        starts.append(vehicle.shift_start)
    routes = (_with_breaks(problem, vehicle, stops, start) for start in dict.fromkeys(starts))
    return min(routes, key=lambda item: item[0])[1]


def _with_breaks(problem, vehicle, stops, start_time):
    """``(key, route)``: the route leaving at ``start_time`` with each break due placed where
    it is best (see :func:`schedule`); the key ranks routes: breaks out of their window, then
    lateness and overtime, then working time. Placing a break makes the day longer and may
    make another one due: breaks are placed until none is left due."""
    placed = {}
    route = _timeline(problem, vehicle, stops, start_time, placed)
    outside = 0
    while True:
        due = [
            index
            for index, rule in enumerate(vehicle.breaks)
            if index not in placed and _break_due(vehicle, rule, route)
        ]
        if not due:
            break
        index = min(due, key=lambda i: (vehicle.breaks[i].earliest, i))
        rule = vehicle.breaks[index]
        best = None
        for position in _break_positions(rule, route, len(stops)):
            candidate = _timeline(problem, vehicle, stops, start_time, {**placed, index: position})
            taken = next(b for b in candidate.breaks if b.index == index)
            key = (
                max(0, taken.start - rule.latest),  # the break itself cannot start in time there
                sum(v.late for v in candidate.visits),
                candidate.end_time,
                position,
            )
            if best is None or key < best[0]:
                best = (key, position, candidate)
        placed[index] = best[1]
        route = best[2]
        outside += best[0][0]
    overtime = max(route.end_time - vehicle.shift_end, 0)
    return (outside, sum(v.late for v in route.visits) + overtime, route.duration), route


def _break_due(vehicle: Vehicle, rule: Break, route: Route) -> bool:
    """Whether the driver is at work at the break's latest start, without having had the time
    to take it at work before leaving."""
    before = route.start_time >= max(rule.earliest, vehicle.shift_start) + rule.duration
    return not before and route.end_time > rule.latest


def _break_positions(rule: Break, route: Route, count: int) -> range:
    """Where a break can go in ``route`` (``count`` stops): from the last place the driver
    leaves before the break may start (taking it earlier only delays more stops) to the last
    one left before its latest start; every place when none lets it start in time."""
    departures = [route.start_time] + [visit.departure for visit in route.visits]
    first = max([p for p, t in enumerate(departures) if t <= rule.earliest], default=0)
    last = max([p for p, t in enumerate(departures) if t <= rule.latest], default=None)
    if last is None:
        return range(count + 1)
    return range(first, min(last + 1, count) + 1)


def _latest_departure(route: Route, stops: Sequence[Stop]) -> int:
    """How much later than ``route`` the vehicle can leave and be back at the same time: the
    waiting it would spend on the way, as long as no stop gets later than its window (or later
    than it is, when late already)."""
    waited, room = 0, None
    for visit, stop in zip(route.visits, stops, strict=True):
        waited += visit.wait
        bound = waited + max(stop.window_end - visit.start, 0)
        room = bound if room is None else min(room, bound)
    return max(min(waited, room if room is not None else 0), 0)


def _timeline(problem, vehicle, stops, start_time, placed) -> Route:
    """The times of ``stops`` from ``start_time`` with the breaks ``placed`` ({break index:
    position}). A break at position ``i`` is taken on the way to stop ``i`` (to the end after
    the last stop): it starts when its window opens, during the drive if the driver is on the
    road then (the drive resumes after it), at the door of stop ``i`` if already there."""
    dur, dist = problem.durations, problem.distances
    dims = problem.dimensions
    delivered_of_pair = {s.pickup_id: problem.demand(s) for s in stops if s.pickup_id is not None}
    load = list(problem.leaving_load(stops))
    at_position = {}
    for index, position in placed.items():
        at_position.setdefault(position, []).append(index)
    visits, breaks = [], []
    now, here, distance = start_time, vehicle.start, 0

    def drive(position, leg):
        """When the driver is at the end of a ``leg`` that starts now, breaks included."""
        nonlocal now
        if position not in at_position:
            return now + leg
        for index in sorted(at_position[position], key=lambda i: vehicle.breaks[i].earliest):
            rule = vehicle.breaks[index]
            begin = max(now, rule.earliest)
            breaks.append(BreakTaken(index, position, begin, begin + rule.duration))
            leg = max(leg - (begin - now), 0)  # driven before the break
            now = begin + rule.duration
        return now + leg

    for i, stop in enumerate(stops):
        arrival = drive(i, dur.item(here, stop.location))
        distance += dist.item(here, stop.location)
        begin = max(arrival, stop.window_start)
        if stop.is_pickup:
            amounts = delivered_of_pair.get(stop.id) or problem.demand(stop)
            for k in range(dims):
                load[k] += amounts[k]
        else:
            amounts = problem.demand(stop)
            for k in range(dims):
                load[k] -= amounts[k]
        visits.append(
            Visit(
                stop_id=stop.id,
                arrival=arrival,
                start=begin,
                departure=begin + stop.service,
                wait=begin - arrival,
                late=max(0, begin - stop.window_end),
                load=tuple(load),
            )
        )
        now, here = begin + stop.service, stop.location
    if vehicle.end is not None:
        end_time = drive(len(stops), dur.item(here, vehicle.end))
        distance += dist.item(here, vehicle.end)
    else:
        end_time = drive(len(stops), 0)
    return Route(
        vehicle_id=vehicle.id,
        visits=visits,
        start_time=start_time,
        end_time=end_time,
        distance=distance,
        duration=end_time - start_time,
        breaks=breaks,
    )


def _bare_insertions(problem, vehicle, sequence, stop, first, latest_end):
    """[(cost added, position)] of the places from ``first`` where ``stop`` fits in the
    vehicle's ``sequence`` without breaks: no stop later than it is or after its window, back
    by ``latest_end``, within capacity. In one pass: each place is checked against how much
    delay the stops after it can absorb (their waiting and the room left in their windows)."""
    by_id = problem.stops_by_id
    stops = [by_id[sid] for sid in sequence]
    if (
        stop.is_pickup
        or stop.pickup_id is not None
        or any(s.is_pickup or s.pickup_id is not None for s in stops)
    ):
        out = []  # loads go up and down along the route: timed place by place
        for position in range(first, len(sequence) + 1):
            candidate = [*stops[:position], stop, *stops[position:]]
            bare = _timeline(problem, vehicle, candidate, vehicle.shift_start, {})
            late = sum(v.late for v in bare.visits) - sum(
                v.late for v in _timeline(problem, vehicle, stops, vehicle.shift_start, {}).visits
            )
            capacity = problem.capacity(vehicle)
            if (
                late > 0
                or bare.end_time > latest_end
                or any(_over(v.load, capacity) is not None for v in bare.visits)
            ):
                continue
            out.append((_route_cost(problem, vehicle, bare), position))
        return out
    route = _timeline(problem, vehicle, stops, vehicle.shift_start, {})
    dur, dist = problem.durations, problem.distances
    # slack[p]: the delay the arrival at visit p (the way back for p = len) can take
    # waits[p]: the waiting from visit p on
    slack, waits = [0] * (len(stops) + 1), [0] * (len(stops) + 1)
    slack[-1] = latest_end - route.end_time
    for p in range(len(stops) - 1, -1, -1):
        visit = route.visits[p]
        slack[p] = visit.wait + min(max(stops[p].window_end - visit.start, 0), slack[p + 1])
        waits[p] = visit.wait + waits[p + 1]
    if slack[-1] < 0:
        return []
    out = []
    here = stops[first - 1].location if first else vehicle.start
    for p in range(first, len(stops) + 1):
        leave = route.visits[p - 1].departure if p else route.start_time
        if p:
            here = stops[p - 1].location
        begin = max(leave + dur.item(here, stop.location), stop.window_start)
        if begin > stop.window_end and not problem.soft_window(stop):
            continue
        go_on = begin + stop.service
        if p < len(stops):
            nxt = stops[p].location
            delay = go_on + dur.item(stop.location, nxt) - route.visits[p].arrival
            added = dist.item(here, stop.location) + dist.item(stop.location, nxt) - dist.item(here, nxt)
        elif vehicle.end is not None:
            delay = go_on + dur.item(stop.location, vehicle.end) - route.end_time
            added = (
                dist.item(here, stop.location)
                + dist.item(stop.location, vehicle.end)
                - dist.item(here, vehicle.end)
            )
        else:
            delay, added = go_on - route.end_time, dist.item(here, stop.location)
        if delay > slack[p]:
            continue
        later = max(delay - waits[p], 0)  # the way back, so much later
        extra = vehicle.time_cost * later + vehicle.distance_cost * added
        out.append((extra, p))
    return out


def best_insertion(
    problem: Problem, vehicle: Vehicle, sequence: Sequence[Hashable], stop_id: Hashable, current=None
):
    """Cheapest place of ``stop_id`` in a vehicle's ``sequence`` that keeps it on time and
    within capacity, or None. Returns (position, route). Locked stops keep their places.
    ``current``: the sequence's route when the caller has it. With breaks, the places are tried
    from the cheapest without them, and the best of the first three that fit is taken."""
    by_id = problem.stops_by_id
    stop = by_id[stop_id]
    max_stops = problem.max_stops(vehicle)
    if not stop.allowed(vehicle.id) or (max_stops and len(sequence) >= max_stops):
        return None
    locked = set(vehicle.locked)
    start = len([sid for sid in sequence if sid in locked])
    start_time = vehicle.shift_start if vehicle.on_the_road else None
    if current is None:
        current = schedule(problem, vehicle, sequence, start_time)
    late_before = sum(v.late for v in current.visits)
    latest_end = max(vehicle.shift_end, current.end_time)
    capacity = problem.capacity(vehicle)
    leaving = problem.leaving_load([by_id[sid] for sid in [*sequence, stop_id]])
    if _over(leaving, capacity) is not None:
        return None
    # breaks only add lateness and time: a place that fails without them fails with them
    candidates = [
        (extra, position, [*sequence[:position], stop_id, *sequence[position:]])
        for extra, position in _bare_insertions(problem, vehicle, sequence, stop, start, latest_end)
    ]
    if vehicle.breaks:
        candidates.sort(key=lambda item: item[:2])
    best, fitting = None, 0
    for _bare_cost, position, candidate in candidates:
        route = schedule(problem, vehicle, candidate, start_time)
        if sum(v.late for v in route.visits) > late_before or route.end_time > latest_end:
            continue
        if any(_over(v.load, capacity) is not None for v in route.visits):
            continue
        route_cost = _route_cost(problem, vehicle, route)
        if best is None or route_cost < best[0]:
            best = (route_cost, position, route)
        fitting += 1
        if vehicle.breaks and fitting == 3:
            break
    return None if best is None else (best[1], best[2])


# ---------------------------------------------------------------------------- child process

# Both searches hold Python's GIL: in a threaded server (one process, requests in threads)
# every request would wait for the plan. The search runs in a child process: an isolated
# interpreter (no current directory nor environment on its import path; the parent's import
# path is handed over with the data) that loads this file alone, is not bound by the CPU and
# memory limits of an Odoo worker (the search has its own time limit, the matrices their
# budget) and dies with its parent. The matrices go through files the child maps in memory,
# not through a copy in a pipe.
_CHILD = """
import importlib.util, os, pickle, resource, signal, sys
try:
    import ctypes
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass
if os.getppid() != int(sys.argv[1]):  # the parent is gone already
    sys.exit(3)
for limit in (resource.RLIMIT_CPU, resource.RLIMIT_AS):
    soft, hard = resource.getrlimit(limit)
    resource.setrlimit(limit, (hard, hard))
payload = pickle.load(sys.stdin.buffer)
sys.path[:] = payload["path"]
spec = importlib.util.spec_from_file_location("lastmile_routing_child", payload["file"])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
pickle.dump(module._search_in_child(payload), sys.stdout.buffer)
"""

_BACKEND_NAMES = {"ortools": "OR-Tools", "pyvrp": "PyVRP"}


def _solve_ortools(problem: Problem) -> Solution:
    return _in_child(problem, "ortools")


def _solve_pyvrp(problem: Problem) -> Solution:
    """PyVRP's plan. When the machine has two cores for them and the memory for both sets of
    matrices, its two searches (see :class:`_PyvrpModel`) run side by side, each in its child
    process, for ``_PyvrpModel.SIDE_BY_SIDE_SHARE`` of the time (all of it when the rest would
    be under ``_PyvrpModel.CONTINUE_MIN``); the cheaper plan wins, the count-first search's on
    a tie. Then two searches with the next seeds continue it (the ``CONTINUE`` search) side by
    side in the time left, at least half their share (starting child processes takes time;
    with an iteration limit, their share, so that the plan stays the same), and the cheapest
    of the three plans wins, the one they continued on a tie. Else the count-first search
    alone, with all the time."""
    strategies = _pyvrp_strategies(problem)
    if len(strategies) == 1:
        return _in_child(problem, "pyvrp", strategies[0])
    started = time.perf_counter()
    share = _PyvrpModel.SIDE_BY_SIDE_SHARE
    if problem.time_limit * (1 - share) < _PyvrpModel.CONTINUE_MIN:
        share = 1.0

    def cheapest(solutions):  # the first on a tie
        return min(solutions, key=lambda solution: cost(problem, solution))

    found = _side_by_side([(_part(problem, share), strategy, None) for strategy in strategies])
    plans = [solution for solution in found if not solution.error]
    if not plans:
        return found[0]
    best = cheapest(plans)
    if share == 1.0:
        return best
    plan = [(route.vehicle_id, [visit.stop_id for visit in route.visits]) for route in best.routes]
    rest = _part(problem, 1 - share)
    if not problem.iteration_limit:
        left = problem.time_limit - (time.perf_counter() - started)
        rest = dataclasses.replace(rest, time_limit=min(rest.time_limit, max(left, rest.time_limit / 2)))
    seeds = range(problem.seed + 1, problem.seed + 1 + len(strategies))
    more = _side_by_side([(dataclasses.replace(rest, seed=seed), CONTINUE, plan) for seed in seeds])
    for solution in more:
        if solution.error:  # the plan found first stands; say why it was not continued
            _logger.warning("A PyVRP search could not continue the plan: %s", solution.error_text)
    return cheapest([best, *(solution for solution in more if not solution.error)])


def _part(problem: Problem, share: float) -> Problem:
    """``problem`` with ``share`` of its time limit and of its iterations."""
    iterations = max(round(problem.iteration_limit * share), 1) if problem.iteration_limit else None
    return dataclasses.replace(problem, time_limit=problem.time_limit * share, iteration_limit=iterations)


def _side_by_side(searches: list) -> list:
    """The plans of PyVRP ``searches`` ((problem, strategy, plan to start from)), each in its
    child process, all at once."""

    def search(arguments):
        try:
            return _in_child(arguments[0], "pyvrp", arguments[1], arguments[2])
        except OSError as error:  # the matrices could not be written: another search may do
            return Solution(
                engine="pyvrp",
                error=_lt("the PyVRP search could not start (%(reason)s)"),
                error_params={"reason": str(error)},
            )

    with concurrent.futures.ThreadPoolExecutor(len(searches)) as pool:
        return list(pool.map(search, searches))


def _pyvrp_strategies(problem: Problem) -> tuple:
    """The PyVRP searches to run: both when the process may use two cores (see
    :func:`_cpu_cores`; other busy processes are not seen) and both sets of matrices fit in
    the budget; they run in child processes, so not when there is no interpreter to start."""
    if _cpu_cores() < 2 or not _child_python() or 2 * _pyvrp_bytes(problem) > PYVRP_MATRIX_BUDGET:
        return (COUNT_FIRST,)
    return (COUNT_FIRST, DISTANCE_FIRST)


def _cpu_cores(cgroups: str = "/proc/self/cgroup", root: str = "/sys/fs/cgroup") -> int:
    """The whole cores this process may use: those of its CPU affinity, or fewer when a CPU
    quota (cgroup v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``, as a container's ``--cpus`` sets)
    of its control group or of a group above it allows less; at least one."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    quota = _cpu_quota(cgroups, root)
    return max(min(cores, math.floor(quota)) if quota is not None else cores, 1)


def _cpu_quota(cgroups: str, root: str) -> float | None:
    """The smallest CPU quota, in cores, of this process's control group and those above it
    (read from ``cgroups``, as ``/proc/self/cgroup``, under ``root``), or None without one."""
    try:
        with open(cgroups, encoding="ascii") as lines:
            entries = [line.rstrip("\n").split(":", 2) for line in lines]
    except (OSError, ValueError):  # a group named in other than ASCII: not one we can read
        return None
    folders = []  # the process's groups and those above them, in each hierarchy with a cpu controller
    for entry in entries:
        if len(entry) != 3:
            continue
        _id, controllers, group = entry
        if controllers == "":  # cgroup v2
            mounts = [root]
        elif "cpu" in controllers.split(","):  # cgroup v1, mounted as cpu or cpu,cpuacct
            mounts = [os.path.join(root, mount) for mount in ("cpu", "cpu,cpuacct", "cpuacct,cpu")]
        else:
            continue
        parts = [part for part in group.split("/") if part]
        folders += [
            os.path.join(mount, *parts[:depth]) for mount in mounts for depth in range(len(parts) + 1)
        ]
    return min((q for q in map(_group_quota, folders) if q is not None), default=None)


def _group_quota(folder: str) -> float | None:
    """The CPU quota, in cores, set on the control group ``folder``: cgroup v2's ``cpu.max``
    ("max 100000", or "200000 100000": 2 cores), or v1's ``cpu.cfs_quota_us`` (-1: none) over
    ``cpu.cfs_period_us``; None without one."""

    def words(name):
        with open(os.path.join(folder, name), encoding="ascii") as file:
            return file.read().split()

    for names in (("cpu.max",), ("cpu.cfs_quota_us", "cpu.cfs_period_us")):
        try:
            quota, period = (int(word) for word in [w for name in names for w in words(name)][:2])
        except OSError:
            continue
        except ValueError:  # "max", or not a quota
            return None
        return quota / period if quota > 0 and period > 0 else None
    return None


def _search(problem: Problem, backend: str, strategy: str = COUNT_FIRST, plan=None) -> Solution:
    if backend == "ortools":
        return _OrToolsModel(problem).solve()
    return _PyvrpModel(problem).solve(strategy, plan)


def _search_in_child(payload: dict) -> dict:
    data = payload["problem"]
    data["durations"] = np.load(payload["durations"], mmap_mode="r")
    data["distances"] = np.load(payload["distances"], mmap_mode="r")
    problem = _problem_from_dict(data)
    return dataclasses.asdict(_search(problem, payload["backend"], payload["strategy"], payload["plan"]))


def _child_python() -> str:
    """The Python interpreter to start a child process with, or an empty string (Odoo
    embedded in another program)."""
    python = sys.executable
    return python if python and os.path.basename(python).startswith("python") else ""


def _in_child(problem: Problem, backend: str, strategy: str = COUNT_FIRST, plan=None) -> Solution:
    """The search of ``backend`` (and ``strategy``, for PyVRP, with the ``plan`` it
    continues) in a child process (see ``_CHILD``); in this process when there is no Python
    interpreter to start."""
    name = _BACKEND_NAMES[backend]
    python = _child_python()
    if not python:
        return _search(problem, backend, strategy, plan)
    with tempfile.TemporaryDirectory(prefix="lastmile-routing-") as folder:
        payload = {
            "path": [p for p in sys.path if p and os.path.isabs(p)],
            "file": os.path.abspath(__file__),
            "backend": backend,
            "strategy": strategy,
            "plan": plan,
            "problem": _problem_to_dict(problem),
            "durations": os.path.join(folder, "durations.npy"),
            "distances": os.path.join(folder, "distances.npy"),
        }
        np.save(payload["durations"], problem.durations)
        np.save(payload["distances"], problem.distances)
        try:
            done = subprocess.run(
                [python, "-I", "-c", _CHILD, str(os.getpid())],
                input=pickle.dumps(payload),
                capture_output=True,
                cwd=os.path.dirname(os.path.abspath(__file__)),
                timeout=problem.time_limit * 2 + 120,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Solution(
                engine=backend,
                error=_lt("the %(engine)s search did not end within twice its time limit"),
                error_params={"engine": name},
            )
        except OSError as error:
            return Solution(
                engine=backend, error=CRASHED, error_params={"engine": name, "reason": str(error)}
            )
    try:
        if done.returncode != 0:
            raise ValueError(f"exit status {done.returncode}")
        return _solution_from_dict(pickle.loads(done.stdout))
    except Exception as error:  # noqa: BLE001 - whatever went wrong, the plan failed and says why
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [str(error)]
        return Solution(engine=backend, error=CRASHED, error_params={"engine": name, "reason": tail[0]})


def _problem_to_dict(problem: Problem) -> dict:
    """The problem without its matrices (they travel as files)."""
    return {
        f.name: getattr(problem, f.name)
        for f in dataclasses.fields(problem)
        if f.name not in ("durations", "distances", "vehicles", "stops")
    } | {
        "vehicles": [dataclasses.asdict(v) for v in problem.vehicles],
        "stops": [dataclasses.asdict(s) for s in problem.stops],
    }


def _problem_from_dict(data: dict) -> Problem:
    vehicles = []
    for v in data["vehicles"]:
        vehicles.append(Vehicle(**{**v, "breaks": [Break(**b) for b in v.get("breaks") or ()]}))
    return Problem(**{**data, "vehicles": vehicles, "stops": [Stop(**s) for s in data["stops"]]})


def _solution_from_dict(data: dict) -> Solution:
    routes = [
        Route(
            **{
                **r,
                "visits": [Visit(**{**v, "load": tuple(v["load"])}) for v in r["visits"]],
                "breaks": [BreakTaken(**b) for b in r.get("breaks") or ()],
            }
        )
        for r in data["routes"]
    ]
    return Solution(**{**data, "routes": routes, "unserved": [Unserved(**u) for u in data["unserved"]]})


# ---------------------------------------------------------------------------- OR-Tools


class _OrToolsModel:
    """The problem as an OR-Tools routing model: nodes are the distinct depot locations, an
    "open end" when a route may end anywhere, then one node per stop."""

    def __init__(self, problem: Problem):
        from ortools.constraint_solver import pywrapcp  # noqa: PLC0415

        self.problem = problem
        self.vehicles, self.stops = list(problem.vehicles), list(problem.stops)
        depot_locs = sorted(
            {v.start for v in self.vehicles} | {v.end for v in self.vehicles if v.end is not None}
        )
        # an "open end" node only when a route may end anywhere: OR-Tools must visit every node
        # that is neither a start, an end nor optional
        needs_open_end = any(v.end is None for v in self.vehicles)
        self.node_loc = (
            list(depot_locs) + ([None] if needs_open_end else []) + [s.location for s in self.stops]
        )
        open_end = len(depot_locs)
        self.first_stop = open_end + (1 if needs_open_end else 0)
        self.stop_node = {s.id: self.first_stop + i for i, s in enumerate(self.stops)}
        self.n = len(self.node_loc)
        depot_node = {loc: i for i, loc in enumerate(depot_locs)}
        starts = [depot_node[v.start] for v in self.vehicles]
        ends = [depot_node[v.end] if v.end is not None else open_end for v in self.vehicles]
        self.manager = pywrapcp.RoutingIndexManager(self.n, len(self.vehicles), starts, ends)
        self.routing = pywrapcp.RoutingModel(self.manager)
        self.travel = self._node_matrix(problem.durations)
        self.service = np.asarray([0] * self.first_stop + [s.service for s in self.stops], dtype=np.int64)
        self.horizon = problem.horizon
        self.must_serve_weight = _must_serve_weight(problem)

    def _node_matrix(self, matrix) -> np.ndarray:
        """The matrix between nodes; the open end is 0 from and to anywhere."""
        real = np.asarray([loc if loc is not None else 0 for loc in self.node_loc], dtype=np.int64)
        nodes = np.asarray(matrix)[np.ix_(real, real)].astype(np.int64)
        for i, loc in enumerate(self.node_loc):
            if loc is None:
                nodes[i, :] = nodes[:, i] = 0
        return nodes

    def _index(self, stop_id):
        return self.manager.NodeToIndex(self.stop_node[stop_id])

    def solve(self) -> Solution:
        self._add_time()
        self._add_arc_costs()
        self._add_load()
        self._add_stop_count()
        self._add_stops()
        self._add_pairs()
        self._add_shifts()
        self._add_breaks()
        assignment = self._search()
        if assignment is None:
            error, params = self._failure()
            return Solution(engine="ortools", error=error, error_params=params)
        return self._read(assignment)

    def _failure(self) -> tuple:
        """(why no plan was found, its parameters)."""
        from ortools.constraint_solver import routing_enums_pb2  # noqa: PLC0415

        status = routing_enums_pb2.RoutingSearchStatus
        code = self.routing.status()
        if code == status.ROUTING_FAIL_TIMEOUT:
            return _lt("OR-Tools found no plan within the %(seconds)s s it was given"), {
                "seconds": f"{self.problem.time_limit:g}"
            }
        if code == status.ROUTING_INVALID:
            return _lt("OR-Tools refused the problem as invalid"), {}
        return _lt(
            "no plan keeps every rule: the stops on board or under way cannot all be served by their vehicles"
        ), {}

    def _add_arc_costs(self):
        """The objective of the module: working time (driving and serving on the arcs, waiting
        and breaks as the time dimension's slack), distance, and the cost of each stop served by
        a vehicle it does not prefer (on the arcs into it)."""
        problem = self.problem
        callbacks = {}
        distance = None
        for v_index, vehicle in enumerate(self.vehicles):
            restrictions = problem.restrictions.get(vehicle.id)
            unpreferred = restrictions.unpreferred if restrictions else frozenset()
            key = (vehicle.time_cost, vehicle.distance_cost, unpreferred)
            if key not in callbacks:
                matrix = vehicle.time_cost * (self.travel + self.service[:, None])
                if vehicle.distance_cost:
                    distance = self._node_matrix(problem.distances) if distance is None else distance
                    matrix = matrix + vehicle.distance_cost * distance
                if unpreferred:
                    columns = sorted(
                        self.stop_node[stop_id] for stop_id in unpreferred if stop_id in self.stop_node
                    )
                    matrix[:, columns] += problem.preference_cost
                callbacks[key] = self.routing.RegisterTransitMatrix(matrix.tolist())
            self.routing.SetArcCostEvaluatorOfVehicle(callbacks[key], v_index)
            self.time.SetSlackCostCoefficientForVehicle(vehicle.time_cost, v_index)

    def _add_time(self):
        time_matrix = self.travel + self.service[:, None]
        callback = self.routing.RegisterTransitMatrix(time_matrix.tolist())
        self.routing.AddDimension(callback, self.horizon, self.horizon, False, "Time")
        self.time = self.routing.GetDimensionOrDie("Time")

    def _add_load(self):
        """Load on board, per dimension: vehicles leave loaded with the depot deliveries (start
        cumul free); pairs load at the pickup."""
        problem = self.problem
        pair_of_pickup = {s.pickup_id: s for s in self.stops if s.pickup_id is not None}
        for k in range(problem.dimensions):
            demands = [0] * self.n
            for stop in self.stops:
                pair = pair_of_pickup.get(stop.id)
                demands[self.stop_node[stop.id]] = (
                    problem.demand(pair)[k] if pair else -problem.demand(stop)[k]
                )
            if not any(demands):
                continue
            big = sum(abs(d) for d in demands) + 1
            capacities = [problem.capacity(v)[k] or big for v in self.vehicles]
            callback = self.routing.RegisterUnaryTransitVector(demands)
            self.routing.AddDimensionWithVehicleCapacity(callback, 0, capacities, False, f"Load{k}")
            load = self.routing.GetDimensionOrDie(f"Load{k}")
            for v_index, capacity in enumerate(capacities):
                load.CumulVar(self.routing.End(v_index)).SetRange(0, capacity)

    def _add_stop_count(self):
        if not any(v.max_stops for v in self.vehicles):
            return
        callback = self.routing.RegisterUnaryTransitVector([0] * self.first_stop + [1] * len(self.stops))
        limits = [self.problem.max_stops(v) or len(self.stops) for v in self.vehicles]
        self.routing.AddDimensionWithVehicleCapacity(callback, 0, limits, True, "Stops")

    def _add_stops(self):
        """Windows (hard, or soft with a lateness cost), allowed vehicles, and the drop penalty
        of the optional stops."""
        problem, horizon = self.problem, self.horizon
        positions = {v.id: i for i, v in enumerate(self.vehicles)}
        for stop in self.stops:
            index = self._index(stop.id)
            cumul = self.time.CumulVar(index)
            must_serve = problem.must_serve(stop)
            if problem.soft_window(stop):
                cumul.SetRange(min(stop.window_start, horizon), horizon)
                if stop.window_end < horizon:
                    weight = self.must_serve_weight if must_serve else problem.soft_late_penalty
                    self.time.SetCumulVarSoftUpperBound(index, stop.window_end, weight)
            else:
                cumul.SetRange(stop.window_start, min(stop.window_end, horizon))
            if stop.vehicle_id is not None or stop.vehicle_ids is not None:
                allowed = [positions[v.id] for v in self.vehicles if stop.allowed(v.id)]
                # -1 keeps an optional stop droppable (the Span-based SetAllowedVehiclesForIndex
                # fails in this OR-Tools build's Python bindings)
                self.routing.VehicleVar(index).SetValues(allowed if must_serve else [-1, *allowed])
            if not must_serve and stop.pickup_id is None:
                self.routing.AddDisjunction([index], drop_penalty(problem, stop))

    def _add_pairs(self):
        solver = self.routing.solver()
        for stop in self.stops:
            if stop.pickup_id is None:
                continue
            pickup, delivery = self._index(stop.pickup_id), self._index(stop.id)
            self.routing.AddPickupAndDelivery(pickup, delivery)
            solver.Add(self.routing.VehicleVar(pickup) == self.routing.VehicleVar(delivery))
            solver.Add(self.routing.ActiveVar(pickup) == self.routing.ActiveVar(delivery))
            solver.Add(self.time.CumulVar(pickup) <= self.time.CumulVar(delivery))
            if not self.problem.must_serve(stop):
                # one disjunction for the pair's delivery; its pickup follows through ActiveVar
                self.routing.AddDisjunction([delivery], drop_penalty(self.problem, stop))

    def _add_shifts(self):
        """Shifts. A vehicle on the road starts now from where it is; one with stops on board
        may finish late, at a cost above any drop."""
        for v_index, vehicle in enumerate(self.vehicles):
            start = self.time.CumulVar(self.routing.Start(v_index))
            end = self.time.CumulVar(self.routing.End(v_index))
            latest = max(vehicle.shift_start, vehicle.shift_end)
            if vehicle.on_the_road:
                start.SetRange(vehicle.shift_start, vehicle.shift_start)
            else:
                start.SetRange(vehicle.shift_start, latest)
                self.routing.AddVariableMaximizedByFinalizer(start)  # leave as late as useful
            if self.problem.carries_work(vehicle):
                end.SetRange(vehicle.shift_start, self.horizon)
                self.time.SetCumulVarSoftUpperBound(self.routing.End(v_index), latest, self.must_serve_weight)
            else:
                end.SetRange(vehicle.shift_start, latest)
            self.routing.AddVariableMinimizedByFinalizer(end)

    def _add_breaks(self):
        """Each driver's breaks as intervals of the time dimension: not during a service, in
        their window, wherever the driver is (travel is interrupted)."""
        if not any(v.breaks for v in self.vehicles):
            return
        solver = self.routing.solver()
        visit_transits = [
            int(self.service[self.manager.IndexToNode(index)]) for index in range(self.routing.Size())
        ]
        for v_index, vehicle in enumerate(self.vehicles):
            if not vehicle.breaks:
                continue
            intervals = [
                solver.FixedDurationIntervalVar(
                    brk.earliest, brk.latest, brk.duration, False, f"break {vehicle.id} {k}"
                )
                for k, brk in enumerate(vehicle.breaks)
            ]
            self.time.SetBreakIntervalsOfVehicle(intervals, v_index, visit_transits)

    def _search(self):
        from ortools.constraint_solver import pywrapcp, routing_enums_pb2  # noqa: PLC0415

        params = pywrapcp.DefaultRoutingSearchParameters()
        params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
        params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        params.time_limit.FromMilliseconds(max(int(self.problem.time_limit * 1000), 10))
        if self.problem.iteration_limit:
            params.solution_limit = self.problem.iteration_limit
        # the metaheuristic is ignored unless the model is closed with these parameters before
        # locks or initial routes are read
        self.routing.CloseModelWithParameters(params)
        locks = [[self._index(sid) for sid in v.locked] for v in self.vehicles]
        if any(locks):
            self.routing.ApplyLocksToAllVehicles(locks, False)
        if self.problem.initial_routes:
            routes = [
                [
                    self._index(sid)
                    for sid in self.problem.initial_routes.get(v.id, [])
                    if sid in self.stop_node
                ]
                for v in self.vehicles
            ]
            initial = self.routing.ReadAssignmentFromRoutes(routes, True)
            if initial:
                return self.routing.SolveFromAssignmentWithParameters(initial, params)
        return self.routing.SolveWithParameters(params)

    def _read(self, assignment) -> Solution:
        solution = Solution(engine="ortools")
        for v_index, vehicle in enumerate(self.vehicles):
            index = self.routing.Start(v_index)
            start_time = assignment.Value(self.time.CumulVar(index))
            sequence = []
            index = assignment.Value(self.routing.NextVar(index))
            while not self.routing.IsEnd(index):
                sequence.append(self.stops[self.manager.IndexToNode(index) - self.first_stop].id)
                index = assignment.Value(self.routing.NextVar(index))
            if sequence:
                solution.routes.append(
                    schedule(self.problem, vehicle, sequence, start_time if vehicle.on_the_road else None)
                )
        return solution


# ---------------------------------------------------------------------------- PyVRP


class _PyvrpModel:
    """The problem as a PyVRP model.

    * Places: the depots (every start and end, and where each driver on the road is once the
      locked part of their route is done), an "open end" when a route may end anywhere, then
      one per stop that is not locked.
    * Routing profiles: profile 0 holds the travel matrices (PyVRP's neighbourhoods read it);
      then one per distinct set of restrictions of the vehicles, in which the stops a vehicle
      may not serve are out of reach (longer than any shift) and, with a preference cost,
      the arcs into the stops it does not prefer cost that much more.
    * Vehicle types: vehicles alike (start, end, shift, capacity, costs, profile) share one, as
      PyVRP searches best that way; a driver on the road is a type of its own that starts where
      and when its locked stops end, with what they leave of its capacity and maximum stops.
    * Stops on board are required; the others optional, each with its drop penalty as prize.

    PyVRP searches best with every stop required (it then moves through plans that break
    windows, at a cost it adapts, towards one that does not). So the search first tries to
    serve every stop, unless the vans cannot hold them all (see :meth:`_capacity_bound`);
    when not every stop is served, it lets stops go, each at its prize; then tries to serve
    one more stop at a time, with it and every stop served required, as long as one of them
    fits and more stops could fit in the vans; then shortens what it found.

    When the vans cannot hold every stop, more stops fit when the bulkiest are left out:
    while stops are let go, the prize of a stop grows (by up to ``BULK_BONUS`` of a drop
    penalty, when every optional stop has the same priority) the less room it takes, and the
    attempts to serve one more stop take the smallest first (the nearest first otherwise). The
    plan is then shortened at equal prizes, where serving more stops comes first again.

    That search (``COUNT_FIRST``) finds the most stops served, but once the vans are full to
    the unit it seldom shortens the plan much: each stop is worth far more than any load or
    lateness PyVRP lets a plan have on the way, so it keeps wandering among overloaded plans.
    The other search (``DISTANCE_FIRST``), run beside it on a second core, starts with each
    optional stop worth only more than a detour to it (``Problem.detour_unit``, as the bench's
    PyVRP peer prices them), where PyVRP shortens plans well but may serve a stop fewer; then
    tries to serve one more stop at a time, as above; then shortens the plan at the real
    prizes. On production-shaped instances each search gives the better plan on about half of
    them (``bench/routing.py``).

    When both run, they run for ``SIDE_BY_SIDE_SHARE`` of the time (see :func:`_solve_pyvrp`).
    Then, when at least ``CONTINUE_MIN`` seconds are left for it, the cheaper plan is continued
    twice, with other seeds (``CONTINUE``): from that plan, every optional stop worth a detour
    (every stop required when the plan serves them all). Going on from the better of two plans
    makes the bad draws of a 10 s search rarer: on the production-shaped instances the engine
    was tuned on, the mean gap over three seeds went from 1.24 % to 0.88 % (2.12 % on eight it
    was not tuned on; see the README).
    """

    # shares of the time limit
    SIDE_BY_SIDE_SHARE = 0.5  # both searches (the rest: continuing the cheaper plan)
    CONTINUE_MIN = 2.0  # seconds: less is not worth starting two more child processes (~0.3 s each)
    REQUIRED_SHARE = 0.2  # every stop required
    PRIZE_SHARE = 0.48  # stops optional, each at its prize (ends once as many as fit are served)
    DETOUR_SHARE = 0.6  # the distance-first search: stops optional, each worth a detour
    POLISH_SHARE = 0.15  # last, shortening the plan found
    ONE_MORE_SHARE = 0.05  # each attempt to serve one more stop (at least ONE_MORE_MIN s)
    ONE_MORE_MIN = 0.3
    BULK_BONUS = 0.2
    # once stops may be left out, PyVRP adapts its costs of broken windows and loads every this
    # many plans: its default of 500 is a twentieth of the plans a 10 s search of 100 stops with
    # full vans looks at (measured on the production-shaped instances of bench/)
    PENALTY_UPDATES = 50

    def __init__(self, problem: Problem):
        import pyvrp  # noqa: PLC0415

        self.pyvrp = pyvrp
        self.problem = problem
        self.locked = {sid for v in problem.vehicles for sid in v.locked}
        self.stops = [s for s in problem.stops if s.id not in self.locked]
        self.starts = {v.id: _free_start(problem, v) for v in problem.vehicles}
        depot_locs = sorted(
            {loc for loc, _time in self.starts.values()}
            | {v.end for v in problem.vehicles if v.end is not None}
        )
        self.open_end = len(depot_locs) if any(v.end is None for v in problem.vehicles) else None
        self.depot_of = {loc: i for i, loc in enumerate(depot_locs)}
        self.n_depots = len(depot_locs) + (1 if self.open_end is not None else 0)
        self.matrix_index = np.asarray(
            depot_locs + ([0] if self.open_end is not None else []) + [s.location for s in self.stops],
            dtype=np.int64,
        )
        self.location_of = {s.id: self.n_depots + i for i, s in enumerate(self.stops)}
        self.pairs = [s for s in self.stops if s.pickup_id is not None]
        self.client_stops = [s for s in self.stops if not s.is_pickup and s.pickup_id is None]
        # fixed breaks every driver takes (the shop's lunch hour): out of PyVRP's clock
        fixed = [frozenset(b for b in v.breaks if b.earliest == b.latest) for v in problem.vehicles]
        # stops counted as a load only when a driver has a maximum (a dimension slows the search)
        self.count_stops = any(problem.max_stops(v) for v in problem.vehicles)
        self.lunches = sorted(fixed[0], key=lambda b: b.earliest) if fixed and len(set(fixed)) == 1 else []

    def _delivery(self, stop) -> list:
        """What ``stop`` takes of a van's room on each of PyVRP's load dimensions."""
        return [*self.problem.demand(stop), *([1] if self.count_stops else [])]

    def _squeeze(self, moment: int) -> int:
        """``moment`` on a clock that stops during the breaks every driver takes at the same
        time: PyVRP then plans around them as if they were not there, and the routes it finds
        keep their windows once the breaks are back (see :func:`schedule`)."""
        out = moment
        for brk in self.lunches:
            out -= min(max(moment - brk.earliest, 0), brk.duration)
        return out

    def _profiles(self):
        """(duration matrices, distance matrices, {vehicle id: profile})."""
        problem = self.problem
        index = self.matrix_index
        duration = np.asarray(problem.durations)[np.ix_(index, index)].astype(np.int64)
        distance = np.asarray(problem.distances)[np.ix_(index, index)].astype(np.int64)
        if self.open_end is not None:  # routes may end there from anywhere at no cost
            duration[:, self.open_end] = duration[self.open_end, :] = 0
            distance[:, self.open_end] = distance[self.open_end, :] = 0
        durations, distances, profile_of, numbers = [duration], [distance], {}, {}
        out_of_reach = problem.horizon + 1
        for vehicle_id, key in self.problem.restrictions.items():
            if key not in numbers:
                forbidden, unpreferred, distance_cost = key
                dur = duration.copy()
                dist = distance * distance_cost if unpreferred else distance.copy()
                if unpreferred:
                    columns = [self.location_of[s] for s in unpreferred if s in self.location_of]
                    dist[:, columns] += problem.preference_cost
                columns = [self.location_of[s] for s in forbidden if s in self.location_of]
                dur[:, columns] = out_of_reach
                dist[:, columns] = problem.penalty_unit
                np.fill_diagonal(dur, 0)
                np.fill_diagonal(dist, 0)
                numbers[key] = len(durations)
                durations.append(dur)
                distances.append(dist)
            profile_of[vehicle_id] = numbers[key]
        return durations, distances, profile_of

    def _vehicle_types(self, profile_of):
        """(PyVRP vehicle types, [vehicles of each type])."""
        problem, pyvrp = self.problem, self.pyvrp
        big = sum(sum(problem.demand(s)) for s in problem.stops) + 1
        stops_by_id = problem.stops_by_id
        groups = {}  # the arguments of a vehicle type: its vehicles
        for vehicle in problem.vehicles:
            place, start = self.starts[vehicle.id]
            locked = [stops_by_id[s] for s in vehicle.locked]
            capacity = problem.capacity(vehicle)
            carried = problem.leaving_load(locked)
            left = [max(c - k, 0) if c else big for c, k in zip(capacity, carried, strict=True)]
            max_stops = problem.max_stops(vehicle)
            stops_left = max(max_stops - len(locked), 0) if max_stops else len(self.stops) + 1
            # PyVRP does not see breaks: it plans the day short of their time
            resting = sum(
                b.duration for b in vehicle.breaks if b.latest < vehicle.shift_end and b not in self.lunches
            )
            start = self._squeeze(start)
            shift_end = max(self._squeeze(vehicle.shift_end) - resting, start)
            overtime = problem.carries_work(vehicle)
            arguments = {
                "capacity": (*left, *([stops_left] if self.count_stops else [])),
                "start_depot": self.depot_of[place],
                "end_depot": self.depot_of[vehicle.end] if vehicle.end is not None else self.open_end,
                "tw_early": start,
                "tw_late": problem.horizon if overtime else shift_end,
                # preferences ride on the distances of their profile: its arcs hold the whole cost
                "unit_distance_cost": 1
                if vehicle.id in self.problem.restrictions
                and self.problem.restrictions[vehicle.id].unpreferred
                else vehicle.distance_cost,
                "unit_duration_cost": vehicle.time_cost,
                "profile": profile_of.get(vehicle.id, 0),
            }
            if vehicle.on_the_road:
                arguments["start_late"] = start
            if overtime:  # it finishes what is on board, at a cost above any drop
                arguments.update(
                    shift_duration=shift_end - start,
                    max_overtime=problem.horizon,
                    unit_overtime_cost=_must_serve_weight(problem),
                )
            groups.setdefault(tuple(sorted(arguments.items())), []).append(vehicle)
        types = [
            pyvrp.VehicleType(
                num_available=len(group), **{**dict(key), "capacity": list(dict(key)["capacity"])}
            )
            for key, group in groups.items()
        ]
        return types, list(groups.values())

    def _data(
        self, required_all: bool, durations, distances, types, served=frozenset(), bonus=None, detour=False
    ):
        """The problem data; ``served``: ids of stops required besides those on board;
        ``bonus``: {stop id: what its prize gets above its drop penalty}; ``detour``: each
        optional stop worth the detour unit instead of its drop penalty (urgent ones more)."""
        pyvrp, problem = self.pyvrp, self.problem
        by_id = problem.stops_by_id
        bonus = bonus or {}

        def required(stop):
            return required_all or stop.id in served or problem.must_serve(stop)

        def prize(stop):
            if required(stop):
                return 0
            if detour:  # a pair: two detours
                pair = 2 if stop.pickup_id is not None else 1
                return pair * problem.detour_unit * (1 + max(stop.priority, 0))
            return drop_penalty(problem, stop) + bonus.get(stop.id, 0)

        squeeze = self._squeeze

        clients = [
            pyvrp.Client(
                location=self.location_of[s.id],
                delivery=self._delivery(s),
                service_duration=s.service,
                tw_early=squeeze(s.window_start),
                tw_late=squeeze(s.window_end),
                required=required(s),
                prize=prize(s),
            )
            for s in self.client_stops
        ]
        shipments = [
            pyvrp.Shipment(
                pickup_location=self.location_of[d.pickup_id],
                delivery_location=self.location_of[d.id],
                pickup_tw_early=squeeze(by_id[d.pickup_id].window_start),
                pickup_tw_late=squeeze(by_id[d.pickup_id].window_end),
                pickup_service_duration=by_id[d.pickup_id].service,
                delivery_tw_early=squeeze(d.window_start),
                delivery_tw_late=squeeze(d.window_end),
                delivery_service_duration=d.service,
                amount=[*problem.demand(d), *([0] if self.count_stops else [])],
                required=required(d),
                prize=prize(d),
            )
            for d in self.pairs
        ]
        return pyvrp.ProblemData(
            locations=[pyvrp.Location(x=0, y=0) for _ in range(len(self.matrix_index))],
            clients=clients,
            depots=[pyvrp.Depot(location=i) for i in range(self.n_depots)],
            vehicle_types=types,
            distance_matrices=distances,
            duration_matrices=durations,
            shipments=shipments,
        )

    def _criterion(self, seconds):
        from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria  # noqa: PLC0415

        criteria = [MaxRuntime(max(seconds, 0.01))]
        if self.problem.iteration_limit:  # split between the phases as the time is
            criteria.append(MaxIterations(self._iterations(seconds)))
        return criteria[0] if len(criteria) == 1 else MultipleCriteria(criteria)

    def _run(self, data, seconds, initial=None, enough=None):
        """(best plan, seconds used) of a search from ``initial``; ``enough``: a number of
        stops served at which the search ends early (the seconds used then count the
        iterations done, when they are limited, so that the plan stays the same each time; when
        they are limited but the time runs out first, the whole search may take longer than
        the time limit, by up to the first phase's share). ``initial`` may come from another
        phase's data: it is priced again on ``data``. With every stop required, PyVRP's own
        parameters (as measured on Solomon)."""
        from pyvrp.IteratedLocalSearch import IteratedLocalSearchCallbacks  # noqa: PLC0415

        class Watch(IteratedLocalSearchCallbacks):
            full = False

            def on_start(self, ils):
                self.on_best(ils.initial_solution)

            def on_best(self, best):
                served = best.num_clients() + best.num_shipments()
                self.full = self.full or (enough is not None and best.is_feasible() and served >= enough)

        watch = Watch()
        if initial is not None:  # a plan keeps the prizes of the data it was made on
            initial = self._plan_on(data, initial)
        criterion = self._criterion(seconds)
        result = self.pyvrp.solve(
            data,
            stop=lambda cost: watch.full or criterion(cost),
            seed=self.problem.seed,
            display=False,
            collect_stats=False,
            params=self._params(data, watch),
            **({"initial_solution": initial} if initial is not None else {}),
        )
        used = seconds
        if watch.full:
            limit = self._iterations(seconds)
            used = min(seconds * result.num_iterations / limit if limit else result.runtime, seconds)
        return result.best, used

    def _plan_on(self, data, plan):
        """``plan``'s routes as a plan of ``data``."""
        pyvrp = self.pyvrp
        return pyvrp.Solution(
            data,
            [
                pyvrp.Route(
                    data,
                    [pyvrp.Activity(a.type, a.idx) for a in route.schedule() if not a.is_depot()],
                    route.vehicle_type(),
                )
                for route in plan.routes()
            ],
        )

    def _params(self, data, callbacks):
        """PyVRP's parameters for a search of ``data``: with stops optional, its costs of a
        unit of load or time too many adapted every ``PENALTY_UPDATES`` plans, from where PyVRP
        starts up to twice the largest prize (a van a gram over never pays off), unless that
        could overflow PyVRP's 64-bit costs on a plan that breaks everything at once (its
        first plan is random)."""
        from pyvrp.IteratedLocalSearch import IteratedLocalSearchParams  # noqa: PLC0415
        from pyvrp.PenaltyManager import PenaltyParams  # noqa: PLC0415
        from pyvrp.solve import SolveParams  # noqa: PLC0415

        class Penalties(PenaltyParams):
            def midpoint_penalties(self, data):  # where PyVRP starts, whatever the maximum
                return PenaltyParams().midpoint_penalties(data)

        prize = max((c.prize for c in (*data.clients(), *data.shipments())), default=0)
        updates = self.PENALTY_UPDATES if prize else PenaltyParams.solutions_between_updates
        highest = min(2.0 * prize, 2.0**60 / self._worst_violation)
        return SolveParams(
            penalty=Penalties(
                solutions_between_updates=updates, max_penalty=max(PenaltyParams.max_penalty, highest)
            ),
            ils=IteratedLocalSearchParams(callbacks=callbacks),
        )

    @functools.cached_property
    def _worst_violation(self) -> int:
        """More than the units of load or time too many of any plan: every stop's load on a
        dimension, or every stop that late by the horizon."""
        loads = [sum(column) for column in zip(*(self._delivery(s) for s in self.stops), strict=True)]
        return max([*loads, self.problem.horizon * max(len(self.stops), 1), 1])

    def _iterations(self, seconds):
        """The iterations a search of ``seconds`` may do, or 0 when they are not limited."""
        if not self.problem.iteration_limit:
            return 0
        return max(round(self.problem.iteration_limit * seconds / max(self.problem.time_limit, 0.01)), 1)

    def _capacity_bound(self, types):
        """(the most stops the vans could hold, {stop id: prize bonus}): the stops loaded at the
        depot counted on each load dimension apart, smallest first, in all the room of all the
        vans, plus every pickup-and-delivery pair (they free their room on the way); a bonus
        for each stop that may be left out when the vans cannot hold them all, the larger the
        smaller the share of the room it takes on the dimensions short of room (none when the
        stops that may be left out differ in priority: an urgent one stays worth more)."""
        problem = self.problem
        count = len(self.client_stops)
        if not count:
            return len(self.pairs), {}
        demands = np.asarray([self._delivery(s) for s in self.client_stops], dtype=np.float64)
        room = sum(np.asarray(t.capacity, dtype=np.float64) * t.num_available for t in types)
        bound, usage = count, np.zeros(count)
        for k in range(demands.shape[1]):
            fits = int(np.searchsorted(np.cumsum(np.sort(demands[:, k])), room[k], side="right"))
            if fits < count:
                bound = min(bound, fits)
                usage += demands[:, k] / max(room[k], 1)
        spread = usage.max() - usage.min()
        priorities = {s.priority for s in self.client_stops if not problem.must_serve(s)}
        if bound == count or spread <= 0 or len(priorities) > 1:
            return bound + len(self.pairs), {}
        unit = problem.penalty_unit * self.BULK_BONUS
        share = (usage.max() - usage) / spread
        return bound + len(self.pairs), {
            stop.id: round(unit * part)
            for stop, part in zip(self.client_stops, share, strict=True)
            if not problem.must_serve(stop)
        }

    def solve(self, strategy: str = COUNT_FIRST, plan=None) -> Solution:
        """The plan of the search ``strategy``; ``CONTINUE`` starts from ``plan``: [(vehicle
        id, [stop ids in order])], a plan of this problem as PyVRP found it (before breaks are
        placed; a stop it does not know raises KeyError)."""
        pyvrp, problem = self.pyvrp, self.problem
        durations, distances, profile_of = self._profiles()
        types, groups = self._vehicle_types(profile_of)
        with warnings.catch_warnings():  # not every stop fitting is what the next phases are for
            warnings.simplefilter("ignore", pyvrp.exceptions.PenaltyBoundWarning)
            if strategy == CONTINUE:
                best = self._continue(durations, distances, types, groups, plan)
            elif strategy == DISTANCE_FIRST:
                best = self._distance_first(durations, distances, types)
            else:
                best = self._count_first(durations, distances, types)
        if not best.is_feasible():
            on_board = any(problem.must_serve(s) for s in self.stops)
            return Solution(
                engine="pyvrp",
                error=_lt("no plan keeps every rule: the stops on board cannot all be served on time")
                if on_board
                else _lt("the PyVRP search found no plan that keeps every rule in its time"),
            )
        del durations, distances
        return self._read(best, groups)

    def _count_first(self, durations, distances, types):
        """The best plan of the count-first search (see the class)."""
        limit = self.problem.time_limit
        bound, bonus = self._capacity_bound(types)
        count = len(self.client_stops) + len(self.pairs)
        spent = 0.0
        best = data = None
        if bound == count:
            data = self._data(True, durations, distances, types)
            spent = limit * self.REQUIRED_SHARE
            best, _used = self._run(data, spent)
        if best is not None and best.is_feasible():
            best, _used = self._run(data, limit - spent, best)
            return best
        data = self._data(False, durations, distances, types, bonus=bonus)
        enough = bound if bound < count else None
        best, used = self._run(data, limit * self.PRIZE_SHARE, enough=enough)
        data = None
        spent += used
        return self._fill_and_shorten(best, durations, distances, types, spent, bound, bonus)

    def _distance_first(self, durations, distances, types):
        """The best plan of the distance-first search (see the class)."""
        limit = self.problem.time_limit
        bound, bonus = self._capacity_bound(types)
        data = self._data(False, durations, distances, types, detour=True)
        spent = limit * self.DETOUR_SHARE
        best, _used = self._run(data, spent)
        data = None
        return self._fill_and_shorten(best, durations, distances, types, spent, bound, bonus)

    def _fill_and_shorten(self, best, durations, distances, types, spent, bound, bonus):
        """The last phases of both searches, once ``spent`` seconds are used: one more stop
        at a time up to ``bound`` (see :meth:`_serve_more`), then the plan shortened at the
        stops' drop penalties in the time left."""
        limit = self.problem.time_limit
        one_more = max(limit * (1 - self.POLISH_SHARE) - spent, 0)
        best, unused = self._serve_more(best, durations, distances, types, one_more, bound, bonus)
        spent += one_more - unused
        data = self._data(False, durations, distances, types)
        best, _used = self._run(data, max(limit - spent, 0.01), best)
        return best

    def _continue(self, durations, distances, types, groups, plan):
        """The best plan of the search that continues ``plan`` (see the class): with every
        stop required when it serves them all, as PyVRP searches best that way."""
        planned = {stop_id for _vehicle, stop_ids in plan for stop_id in stop_ids}
        every = all(s.id in planned for s in (*self.client_stops, *self.pairs))
        data = self._data(every, durations, distances, types, detour=not every)
        best, _used = self._run(data, self.problem.time_limit, self._plan_from(data, plan, groups))
        return best

    def _plan_from(self, data, plan, groups):
        """``plan`` ([(vehicle id, [stop ids])]) as a PyVRP plan of ``data``: its locked stops
        left out, a pair's pickup and delivery as the shipment's two visits (a stop it does not
        know raises KeyError)."""
        pyvrp = self.pyvrp
        kind = pyvrp.ActivityType
        type_of = {vehicle.id: k for k, group in enumerate(groups) for vehicle in group}
        activity = {s.id: pyvrp.Activity(kind.CLIENT, k) for k, s in enumerate(self.client_stops)}
        for k, delivery in enumerate(self.pairs):
            activity[delivery.pickup_id] = pyvrp.Activity(kind.PICKUP, k)
            activity[delivery.id] = pyvrp.Activity(kind.DELIVERY, k)
        routes = []
        for vehicle_id, stop_ids in plan:
            visits = [activity[stop_id] for stop_id in stop_ids if stop_id not in self.locked]
            if visits:
                routes.append(pyvrp.Route(data, visits, type_of[vehicle_id]))
        return pyvrp.Solution(data, routes)

    def _served(self, solution) -> set:
        """Ids of the stops ``solution`` serves (of a pair, its delivery)."""
        served = set()
        for route in solution.routes():
            for activity in route.schedule():
                if activity.is_client():
                    served.add(self.client_stops[activity.idx].id)
                elif activity.is_shipment():
                    served.add(self.pairs[activity.idx].id)
        return served

    def _serve_more(self, best, durations, distances, types, seconds, bound=None, bonus=None):
        """(``best`` or a plan found from it that serves more stops, the seconds not used): one
        stop left out at a time is required with every stop served, for a short search, as long
        as fewer than ``bound`` stops are served; the stops with the largest ``bonus`` (the
        smallest) first, then the nearest to a served stop. The attempts are counted in the
        time they are given, so an iteration limit keeps the plan the same each time."""
        if not best.is_feasible():
            return best, seconds
        problem = self.problem
        bound = len(self.client_stops) + len(self.pairs) if bound is None else bound
        bonus = bonus or {}
        attempt = max(problem.time_limit * self.ONE_MORE_SHARE, self.ONE_MORE_MIN)
        served = self._served(best)
        candidates = [s for s in (*self.client_stops, *self.pairs) if s.id not in served]
        if not served or not candidates:
            return best, seconds
        distance = np.asarray(distances[0])
        served_places = [self.location_of[sid] for sid in sorted(served)]
        nearest = distance[np.ix_([self.location_of[s.id] for s in candidates], served_places)].min(axis=1)
        smallest = [-bonus.get(s.id, 0) for s in candidates]
        queue = [candidates[k].id for k in np.lexsort((nearest, smallest))]
        while queue and seconds >= attempt and len(served) < bound:
            seconds -= attempt
            stop_id = queue.pop(0)
            data = self._data(False, durations, distances, types, frozenset(served | {stop_id}))
            found, _used = self._run(data, attempt, best)
            if found.is_feasible():
                best, served = found, self._served(found)
                queue = [sid for sid in queue if sid not in served]
        return best, seconds

    def _read(self, best, groups) -> Solution:
        problem = self.problem
        solution = Solution(engine="pyvrp")
        available = [list(group) for group in groups]
        sequences = {}
        for route in best.routes():
            vehicle = available[route.vehicle_type()].pop(0)
            sequence = list(vehicle.locked)
            for activity in route.schedule():
                if activity.is_client():
                    sequence.append(self.client_stops[activity.idx].id)
                elif activity.is_shipment():
                    delivery = self.pairs[activity.idx]
                    sequence.append(delivery.pickup_id if activity.is_pickup() else delivery.id)
            sequences[vehicle.id] = sequence
        for vehicle in problem.vehicles:
            sequence = sequences.get(vehicle.id) or list(vehicle.locked)
            if sequence:
                start = vehicle.shift_start if vehicle.on_the_road else None
                solution.routes.append(schedule(problem, vehicle, sequence, start))
        return solution

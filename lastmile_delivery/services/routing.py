"""Vehicle routing with time windows: plain data in, ordered routes out.

Two backends behind one interface:

* **OR-Tools** routing expresses everything this module offers: capacity (on-board load),
  hard or soft time windows, service times, shifts, several vehicles and depots, stops pinned
  to a vehicle, locked route prefixes (stops already done or under way keep their place; a
  driver on the road starts from where they are, at the current time), stops already loaded on
  a started vehicle (``Stop.required``: served by that vehicle, late if need be, never
  dropped), pickup-and-delivery pairs, optional stops with a drop penalty, and a warm start
  from existing routes.
* **PyVRP** (hybrid genetic search) finds markedly better plans in the same time on what it can
  express: no pins, no locked prefixes, no loaded stops, hard windows only. Asked for a problem
  it cannot express, it refuses with :class:`RoutingError` rather than ignore a constraint.

``engine="auto"`` picks PyVRP when the problem fits it, else OR-Tools. All times are integers
in seconds (or any unit, consistently), distances integers in meters, loads integers.

Before solving, stops that no vehicle can possibly serve are set aside with a reason; stops the
solver leaves out get one too, so a plan is usually partial rather than empty. Dropping a stop
always costs more than any vehicle could spend serving it (:func:`drop_penalty`), so a fleet
with costs serves as many stops as one without. Every plan goes through :func:`check`, which
shares no code with the backends; a plan that breaks a rule, or no plan at all, comes back as a
:class:`Solution` with ``error`` set and no routes, so that a caller keeps its previous plan.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import pickle
import subprocess
import sys
import time
import warnings
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

HORIZON = 7 * 24 * 3600  # a week, in seconds

REASON_CAPACITY = "capacity"
REASON_WINDOW = "window"
REASON_VEHICLE = "vehicle"
REASON_PAIR = "pair"
REASON_DROPPED = "dropped"
REASON_NO_VEHICLE = "no_vehicle"


@dataclass
class Vehicle:
    id: Hashable
    start: int  # location index
    end: int | None = None  # location index; None: the route ends at its last stop
    capacity: int = 0  # 0: unlimited
    max_stops: int = 0  # 0: unlimited
    shift_start: int = 0
    shift_end: int = HORIZON
    # objective weights, per unit of the matrices: seconds of working time by default
    time_cost: int = 1
    distance_cost: int = 0
    locked: Sequence[Hashable] = ()  # stop ids that start the route, in this order
    # on the road: the route starts exactly at shift_start (now) from ``start`` (where it is)
    fixed_start: bool = False

    @property
    def on_the_road(self) -> bool:
        return self.fixed_start or bool(self.locked)


@dataclass
class Stop:
    id: Hashable
    location: int
    demand: int = 0  # loaded at the depot and delivered here (or delivered here from its pickup)
    window_start: int = 0
    window_end: int = HORIZON
    service: int = 0
    priority: int = 0  # higher: more important not to drop
    vehicle_id: Hashable | None = None  # pinned vehicle
    vehicle_ids: Sequence[Hashable] | None = None  # or: only these vehicles (dispatch rules)
    pickup_id: Hashable | None = None  # this stop delivers what stop ``pickup_id`` picked up
    is_pickup: bool = False
    # on board the pinned vehicle already: it is served by that vehicle even late (its window
    # is soft, the lateness reported) and even past the end of the shift; never dropped
    required: bool = False

    def allowed(self, vehicle_id) -> bool:
        if self.vehicle_id is not None:
            return vehicle_id == self.vehicle_id
        return self.vehicle_ids is None or vehicle_id in self.vehicle_ids


@dataclass
class Problem:
    durations: Sequence[Sequence[int]]
    distances: Sequence[Sequence[int]]
    vehicles: Sequence[Vehicle]
    stops: Sequence[Stop]
    soft_late_penalty: int | None = None  # cost per time unit late; None: windows are hard
    time_limit: float = 5.0  # seconds of search
    iteration_limit: int | None = None  # set it for a reproducible result
    seed: int = 1
    engine: str = "auto"  # auto, ortools or pyvrp
    initial_routes: dict | None = None  # {vehicle id: [stop ids]} to start the search from

    def must_serve(self, stop: Stop) -> bool:
        """Stops that are on board or under way: served whatever it costs, never dropped."""
        return stop.id in self._must_serve_ids

    def soft_window(self, stop: Stop) -> bool:
        return self.soft_late_penalty is not None or stop.id in self._must_serve_ids

    def carries_work(self, vehicle: Vehicle) -> bool:
        """A vehicle with stops on board finishes them even past the end of its shift."""
        return vehicle.id in self._on_board

    def capacity(self, vehicle: Vehicle) -> int:
        """The vehicle's capacity, or what it already carries when that is more (goods on board
        are on board): 0 means unlimited."""
        return max(vehicle.capacity, self._on_board.get(vehicle.id, 0)) if vehicle.capacity else 0

    def max_stops(self, vehicle: Vehicle) -> int:
        """The vehicle's maximum stops, or the stops it carries when they are more: 0 means
        unlimited."""
        return max(vehicle.max_stops, self._on_board_stops.get(vehicle.id, 0)) if vehicle.max_stops else 0

    @functools.cached_property
    def stops_by_id(self) -> dict:
        return {s.id: s for s in self.stops}

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
                delivered = stop.demand if stop.pickup_id is None and not stop.is_pickup else 0
                vehicle_id = self._carried[stop.id]
                loads[vehicle_id] = loads.get(vehicle_id, 0) + delivered
        return loads

    @functools.cached_property
    def _on_board_stops(self) -> dict:
        return Counter(self._carried.values())

    @functools.cached_property
    def horizon(self) -> int:
        """A time by which every plan is over: the latest shift end or window end, plus room
        for the longest trip there and back."""
        ends = [v.shift_end for v in self.vehicles] + [
            s.window_end for s in self.stops if s.window_end < HORIZON
        ]
        starts = [v.shift_start for v in self.vehicles]
        return max([*ends, *starts, 0]) + 2 * _largest(self.durations)

    @functools.cached_property
    def penalty_unit(self) -> int:
        """More than what serving one more stop can add to any vehicle's cost: its working
        time is bounded by the horizon, and a detour adds at most two of the longest trips."""
        span = self.horizon + 2 * _largest(self.durations)
        longest = _largest(self.distances)
        return 1 + max([v.time_cost * span + v.distance_cost * 2 * longest for v in self.vehicles] + [span])


def _largest(matrix) -> int:
    return max([max(row) for row in matrix if len(row)] + [1])


@dataclass
class Visit:
    stop_id: Hashable
    arrival: int
    start: int  # service starts
    departure: int
    wait: int
    late: int
    load: int  # on board when leaving


@dataclass
class Route:
    vehicle_id: Hashable
    visits: list
    start_time: int
    end_time: int
    distance: int
    duration: int


@dataclass
class Unserved:
    stop_id: Hashable
    reason: str
    detail: str


@dataclass
class Solution:
    routes: list = field(default_factory=list)
    unserved: list = field(default_factory=list)
    engine: str = ""
    seconds: float = 0.0
    # no plan: why (the search found none, or what it found breaks a rule); routes are empty
    error: str = ""

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


# ---------------------------------------------------------------------------- checks


def _validate(problem: Problem) -> None:
    n = len(problem.durations)
    if (
        len(problem.distances) != n
        or any(len(row) != n for row in problem.durations)
        or any(len(row) != n for row in problem.distances)
    ):
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
    for vehicle in problem.vehicles:
        for loc in (vehicle.start, vehicle.end):
            if loc is not None and not 0 <= loc < n:
                raise RoutingError(f"vehicle {vehicle.id}: location {loc} is not in the matrix")
        for stop_id in vehicle.locked:
            if stop_id not in known:
                raise RoutingError(f"vehicle {vehicle.id}: locked stop {stop_id} is not a stop")


def _precheck(problem: Problem) -> list[Unserved]:
    """Stops that no vehicle can serve whatever the plan, with the reason."""
    if not problem.vehicles:
        return [Unserved(s.id, REASON_NO_VEHICLE, "no vehicle is available") for s in problem.stops]
    out = []
    pair_load = {stop.pickup_id: stop.demand for stop in problem.stops if stop.pickup_id is not None}
    for stop in problem.stops:
        if problem.must_serve(stop):
            continue
        vehicles = [v for v in problem.vehicles if stop.allowed(v.id)]
        if not vehicles:
            out.append(
                Unserved(
                    stop.id, REASON_VEHICLE, "the drivers it may go with are off duty or not working then"
                )
            )
            continue
        load = pair_load.get(stop.id, stop.demand)
        capacities = [problem.capacity(v) for v in vehicles]
        if load and all(capacities) and load > max(capacities):
            out.append(
                Unserved(
                    stop.id,
                    REASON_CAPACITY,
                    f"its load {load} is above every vehicle's capacity ({max(capacities)})",
                )
            )
            continue
        if not any(_reachable(problem, v, stop) for v in vehicles):
            out.append(
                Unserved(stop.id, REASON_WINDOW, "no vehicle can reach it within its time window and shift")
            )
    # a pair is served whole or not at all
    unserved = {u.stop_id for u in out}
    for stop in problem.stops:
        if stop.pickup_id is not None and (stop.id in unserved) != (stop.pickup_id in unserved):
            other = stop.pickup_id if stop.id in unserved else stop.id
            out.append(
                Unserved(
                    other, REASON_PAIR, "the other stop of its pickup-and-delivery pair cannot be served"
                )
            )
            unserved.add(other)
    return out


def _reachable(problem: Problem, vehicle: Vehicle, stop: Stop) -> bool:
    """Whether the vehicle, going straight there at the start of its shift, serves the stop in
    its window and is back in time."""
    earliest = max(vehicle.shift_start + problem.durations[vehicle.start][stop.location], stop.window_start)
    back = problem.durations[stop.location][vehicle.end] if vehicle.end is not None else 0
    on_time = problem.soft_late_penalty is not None or earliest <= stop.window_end
    return on_time and earliest + stop.service + back <= vehicle.shift_end


def check(problem: Problem, solution: Solution) -> list[str]:
    """Every rule a plan must keep, checked from the routes' sequences and start times alone
    (no code shared with the backends). Returns the violations, an empty list for a good plan.

    Rules: each stop is served once or reported unserved once, never both; stops on board or
    under way are served by their vehicle, locked ones first and in order; a vehicle drives one
    route, of stops it may serve, within its capacity, its maximum stops and its shift (a
    vehicle with stops on board may finish late); service starts within each window unless
    lateness is allowed for that stop; pickups come before their delivery, on the same route.
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
        errors += _check_route(problem, vehicle, [stops[sid] for sid in sequence], route.start_time)
    for vehicle in problem.vehicles:
        route = next((r for r in solution.routes if r.vehicle_id == vehicle.id), None)
        sequence = [visit.stop_id for visit in route.visits] if route else []
        if list(vehicle.locked) != sequence[: len(vehicle.locked)]:
            errors.append(
                f"vehicle {vehicle.id}: its stops under way {list(vehicle.locked)} do not start its route"
            )
    return errors


def _check_route(problem: Problem, vehicle: Vehicle, stops: list[Stop], start_time: int) -> list[str]:
    errors = []
    name = f"vehicle {vehicle.id}"
    dur = problem.durations
    if start_time < vehicle.shift_start or (vehicle.on_the_road and start_time != vehicle.shift_start):
        errors.append(f"{name} leaves at {start_time}, its shift starts at {vehicle.shift_start}")
    max_stops = problem.max_stops(vehicle)
    if max_stops and len(stops) > max_stops:
        errors.append(f"{name} serves {len(stops)} stops, at most {max_stops}")
    position = {stop.id: i for i, stop in enumerate(stops)}
    pair_demand = {s.pickup_id: s.demand for s in problem.stops if s.pickup_id is not None}
    load = sum(s.demand for s in stops if s.pickup_id is None and not s.is_pickup)
    peak, now, here = load, start_time, vehicle.start
    for stop in stops:
        if not stop.allowed(vehicle.id):
            errors.append(f"{name} may not serve stop {stop.id}")
        if stop.pickup_id is not None and position.get(stop.pickup_id, len(stops)) > position[stop.id]:
            errors.append(
                f"{name}: stop {stop.id} is delivered without its pickup {stop.pickup_id} before it"
            )
        if stop.is_pickup and not any(s.pickup_id == stop.id for s in stops):
            errors.append(f"{name}: pickup {stop.id} without its delivery on the same route")
        begin = max(now + dur[here][stop.location], stop.window_start)
        if begin > stop.window_end and not problem.soft_window(stop):
            errors.append(
                f"{name} serves stop {stop.id} at {begin}, after its window ends ({stop.window_end})"
            )
        load += pair_demand.get(stop.id, stop.demand) if stop.is_pickup else -stop.demand
        peak = max(peak, load)
        now, here = begin + stop.service, stop.location
    end = now + (dur[here][vehicle.end] if vehicle.end is not None else 0)
    if end > vehicle.shift_end and not problem.carries_work(vehicle):
        errors.append(f"{name} is back at {end}, after its shift ends ({vehicle.shift_end})")
    capacity = problem.capacity(vehicle)
    if capacity and peak > capacity:
        errors.append(f"{name} carries {peak}, more than its capacity {capacity}")
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


def pyvrp_can_solve(problem: Problem) -> bool:
    return (
        problem.soft_late_penalty is None
        and not any(v.on_the_road for v in problem.vehicles)
        and not any(
            s.vehicle_id is not None or s.vehicle_ids is not None or s.required for s in problem.stops
        )
        and not problem.initial_routes
    )


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
    if engine == "auto":
        engine = "pyvrp" if pyvrp_can_solve(sub) and _pyvrp_available() else "ortools"
    if engine == "pyvrp" and not pyvrp_can_solve(sub):
        raise RoutingError(
            "PyVRP cannot express pinned stops, allowed vehicles, stops on board or under way, soft "
            "windows or a warm start: use the 'ortools' or 'auto' engine for this problem."
        )
    if not stops or not problem.vehicles:
        solution = Solution(routes=[], engine=engine)
    elif engine == "pyvrp":
        solution = _solve_pyvrp(sub)
    elif engine == "ortools":
        solution = _solve_ortools(sub)
    else:
        raise RoutingError(f"unknown engine {engine!r}")
    solution.seconds = time.perf_counter() - started
    if solution.error:
        return solution
    # whatever the backend left out, and did not explain itself, it dropped
    accounted = {v.stop_id for route in solution.routes for v in route.visits} | {
        u.stop_id for u in solution.unserved
    }
    dropped = [
        Unserved(
            s.id, REASON_DROPPED, "no route has room for it within the time windows, shifts and capacities"
        )
        for s in stops
        if s.id not in accounted
    ]
    solution.unserved = unserved + solution.unserved + dropped
    _repair(sub, solution, deadline=started + max(1.0, problem.time_limit * 0.2) + solution.seconds)
    violations = check(problem, solution)
    if violations:
        return Solution(
            engine=solution.engine,
            seconds=solution.seconds,
            error=f"the {solution.engine} plan breaks {len(violations)} rule(s), first: {violations[0]}",
        )
    return solution


def _pyvrp_available() -> bool:
    try:
        import pyvrp  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def _repair(problem: Problem, solution: Solution, deadline: float) -> None:
    """Insert the stops the search dropped wherever they still fit (on time, within capacity,
    maximum stops and shift), most important first, at the cheapest place: a search stopped
    by its time limit may leave out a stop that fits. Stops of pickup-and-delivery pairs are
    left as they are."""
    dropped = [u for u in solution.unserved if u.reason == REASON_DROPPED]
    if not dropped:
        return
    stops = problem.stops_by_id
    routes = {route.vehicle_id: route for route in solution.routes}
    order = sorted(
        (u for u in dropped if stops[u.stop_id].pickup_id is None and not stops[u.stop_id].is_pickup),
        key=lambda u: (-stops[u.stop_id].priority, stops[u.stop_id].window_end),
    )
    for item in order:
        if time.perf_counter() > deadline:
            break
        best = None
        for vehicle in problem.vehicles:
            current = routes.get(vehicle.id)
            sequence = [visit.stop_id for visit in current.visits] if current else []
            found = best_insertion(problem, vehicle, sequence, item.stop_id)
            if not found:
                continue
            route = found[1]
            extra = _route_cost(vehicle, route) - (_route_cost(vehicle, current) if current else 0)
            if best is None or extra < best[0]:
                best = (extra, vehicle, route)
        if best:
            routes[best[1].id] = best[2]
            solution.unserved.remove(item)
    solution.routes = [routes[v.id] for v in problem.vehicles if v.id in routes]


def _route_cost(vehicle: Vehicle, route: Route) -> int:
    return vehicle.time_cost * route.duration + vehicle.distance_cost * route.distance


# ---------------------------------------------------------------------------- visits


def merge_stops(stops: Sequence[Stop]) -> list[tuple[Stop, list]]:
    """Stops at one door, with the same vehicle rules, as few visits as their windows allow:
    ``[(visit, ids of the stops it stands for)]``, in the order of the stops. One visit
    delivers everything at once: the loads add up, the service time is the longest one (one
    parking, one doorbell), the window is the overlap of theirs. The visit keeps the id of its
    first stop."""
    if len({(s.location, s.vehicle_id, _frozen(s.vehicle_ids), s.required) for s in stops}) > 1:
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
                demand=sum(s.demand for s in group),
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
    """Times of a given sequence: arrival, wait, service start, lateness, load on board.

    The vehicle leaves as late as it can without making the first stop wait (and never before
    its shift starts); the distance includes the way back to its end location.
    """
    by_id = problem.stops_by_id
    stops = [by_id[sid] for sid in stop_ids]
    dur, dist = problem.durations, problem.distances
    if start_time is None:
        start_time = vehicle.shift_start
        if stops and not vehicle.on_the_road:
            first = stops[0]
            start_time = max(vehicle.shift_start, first.window_start - dur[vehicle.start][first.location])
    # load on board: depot deliveries leave with the vehicle; pairs load at the pickup
    delivered_of_pair = {s.pickup_id: s.demand for s in stops if s.pickup_id is not None}
    load = sum(s.demand for s in stops if s.pickup_id is None and not s.is_pickup)
    visits = []
    now, here, distance = start_time, vehicle.start, 0
    for stop in stops:
        arrival = now + dur[here][stop.location]
        distance += dist[here][stop.location]
        begin = max(arrival, stop.window_start)
        if stop.is_pickup:
            load += delivered_of_pair.get(stop.id, stop.demand)
        else:
            load -= stop.demand
        visits.append(
            Visit(
                stop_id=stop.id,
                arrival=arrival,
                start=begin,
                departure=begin + stop.service,
                wait=begin - arrival,
                late=max(0, begin - stop.window_end),
                load=load,
            )
        )
        now, here = begin + stop.service, stop.location
    end_time = now
    if vehicle.end is not None:
        end_time += dur[here][vehicle.end]
        distance += dist[here][vehicle.end]
    return Route(
        vehicle_id=vehicle.id,
        visits=visits,
        start_time=start_time,
        end_time=end_time,
        distance=distance,
        duration=end_time - start_time,
    )


def best_insertion(problem: Problem, vehicle: Vehicle, sequence: Sequence[Hashable], stop_id: Hashable):
    """Cheapest place of ``stop_id`` in a vehicle's ``sequence`` that keeps it on time and
    within capacity, or None. Returns (position, route). Locked stops keep their places."""
    by_id = problem.stops_by_id
    stop = by_id[stop_id]
    max_stops = problem.max_stops(vehicle)
    if not stop.allowed(vehicle.id) or (max_stops and len(sequence) >= max_stops):
        return None
    locked = set(vehicle.locked)
    start = len([sid for sid in sequence if sid in locked])
    start_time = vehicle.shift_start if vehicle.on_the_road else None
    current = schedule(problem, vehicle, sequence, start_time)
    late_before = sum(v.late for v in current.visits)
    capacity = problem.capacity(vehicle)
    best = None
    for position in range(start, len(sequence) + 1):
        candidate = [*sequence[:position], stop_id, *sequence[position:]]
        route = schedule(problem, vehicle, candidate, start_time)
        if sum(v.late for v in route.visits) > late_before or route.end_time > max(
            vehicle.shift_end, current.end_time
        ):
            continue
        leaving = sum(
            by_id[sid].demand
            for sid in candidate
            if by_id[sid].pickup_id is None and not by_id[sid].is_pickup
        )
        if capacity and max([leaving, *(v.load for v in route.visits)]) > capacity:
            continue
        cost = _route_cost(vehicle, route)
        if best is None or cost < best[0]:
            best = (cost, position, route)
    return None if best is None else (best[1], best[2])


# ---------------------------------------------------------------------------- OR-Tools

# OR-Tools holds Python's GIL for its whole search: in a threaded server (one process, requests
# in threads) every request would wait for the plan. The search runs in a child process: an
# isolated interpreter (no current directory nor environment on its import path; the parent's
# import path is handed over with the data) that loads this file alone, is not bound by the
# CPU limit of an Odoo worker (the search has its own time limit) and dies with its parent.
_CHILD = """
import importlib.util, os, pickle, resource, signal, sys
try:
    import ctypes
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass
if os.getppid() == 1:
    sys.exit(3)
soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))
payload = pickle.load(sys.stdin.buffer)
sys.path[:] = payload["path"]
spec = importlib.util.spec_from_file_location("lastmile_routing_child", payload["file"])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
problem = module._problem_from_dict(payload["problem"])
pickle.dump(module._to_dict(module._OrToolsModel(problem).solve()), sys.stdout.buffer)
"""


def _solve_ortools(problem: Problem) -> Solution:
    """The OR-Tools search, in a child process (see ``_CHILD``); in this process when there is
    no Python interpreter to start (Odoo embedded in another program)."""
    python = sys.executable
    if not python or not os.path.basename(python).startswith("python"):
        return _OrToolsModel(problem).solve()
    payload = {
        "path": [p for p in sys.path if p and os.path.isabs(p)],
        "file": os.path.abspath(__file__),
        "problem": _to_dict(problem),
    }
    try:
        done = subprocess.run(
            [python, "-I", "-c", _CHILD],
            input=pickle.dumps(payload),
            capture_output=True,
            cwd=os.path.dirname(os.path.abspath(__file__)),
            timeout=problem.time_limit * 2 + 120,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Solution(engine="ortools", error="the OR-Tools search did not end within twice its time limit")
    except OSError as error:
        return Solution(engine="ortools", error=f"the OR-Tools search stopped with an error ({error})")
    try:
        if done.returncode != 0:
            raise ValueError(f"exit status {done.returncode}")
        return _solution_from_dict(pickle.loads(done.stdout))
    except Exception as error:  # noqa: BLE001 - whatever went wrong, the plan failed and says why
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [str(error)]
        return Solution(engine="ortools", error=f"the OR-Tools search stopped with an error ({tail[0]})")


def _to_dict(value) -> dict:
    return dataclasses.asdict(value)


def _problem_from_dict(data: dict) -> Problem:
    return Problem(
        **{
            **data,
            "vehicles": [Vehicle(**v) for v in data["vehicles"]],
            "stops": [Stop(**s) for s in data["stops"]],
        }
    )


def _solution_from_dict(data: dict) -> Solution:
    routes = [Route(**{**r, "visits": [Visit(**v) for v in r["visits"]]}) for r in data["routes"]]
    return Solution(**{**data, "routes": routes, "unserved": [Unserved(**u) for u in data["unserved"]]})


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
        self.horizon = problem.horizon
        self.must_serve_weight = _must_serve_weight(problem)

    def _node_matrix(self, matrix):
        loc = self.node_loc
        return [
            [0 if loc[i] is None or loc[j] is None else matrix[loc[i]][loc[j]] for j in range(self.n)]
            for i in range(self.n)
        ]

    def _index(self, stop_id):
        return self.manager.NodeToIndex(self.stop_node[stop_id])

    def solve(self) -> Solution:
        self._add_arc_costs()
        self._add_time()
        self._add_load()
        self._add_stop_count()
        self._add_stops()
        self._add_pairs()
        self._add_shifts()
        assignment = self._search()
        if assignment is None:
            return Solution(engine="ortools", error=self._failure())
        return self._read(assignment)

    def _failure(self) -> str:
        from ortools.constraint_solver import routing_enums_pb2  # noqa: PLC0415

        status = routing_enums_pb2.RoutingSearchStatus
        code = self.routing.status()
        if code == status.ROUTING_FAIL_TIMEOUT:
            return f"OR-Tools found no plan within the {self.problem.time_limit:g} s it was given"
        if code == status.ROUTING_INVALID:
            return "OR-Tools refused the problem as invalid"
        return (
            "no plan keeps every rule: the stops on board or under way cannot all be served by their vehicles"
        )

    def _add_arc_costs(self):
        """Travel time by default, or each vehicle's weights of time and distance."""
        callbacks, distance = {}, None
        for v_index, vehicle in enumerate(self.vehicles):
            key = (vehicle.time_cost, vehicle.distance_cost)
            if key not in callbacks:
                if key == (1, 0):
                    matrix = self.travel
                else:
                    distance = distance or self._node_matrix(self.problem.distances)
                    matrix = [
                        [
                            vehicle.time_cost * t + vehicle.distance_cost * d
                            for t, d in zip(trow, drow, strict=True)
                        ]
                        for trow, drow in zip(self.travel, distance, strict=True)
                    ]
                callbacks[key] = self.routing.RegisterTransitMatrix(matrix)
            self.routing.SetArcCostEvaluatorOfVehicle(callbacks[key], v_index)

    def _add_time(self):
        service = [0] * self.first_stop + [s.service for s in self.stops]
        time_matrix = [[t + service[i] for t in row] for i, row in enumerate(self.travel)]
        callback = self.routing.RegisterTransitMatrix(time_matrix)
        self.routing.AddDimension(callback, self.horizon, self.horizon, False, "Time")
        self.time = self.routing.GetDimensionOrDie("Time")

    def _add_load(self):
        """Load on board: vehicles leave loaded with the depot deliveries (start cumul free);
        pairs load at the pickup."""
        pair_of_pickup = {s.pickup_id: s for s in self.stops if s.pickup_id is not None}
        demands = [0] * self.n
        for stop in self.stops:
            pair = pair_of_pickup.get(stop.id)
            demands[self.stop_node[stop.id]] = pair.demand if pair else -stop.demand
        if not any(demands):
            return
        big = sum(abs(d) for d in demands) + 1
        capacities = [self.problem.capacity(v) or big for v in self.vehicles]
        callback = self.routing.RegisterUnaryTransitVector(demands)
        self.routing.AddDimensionWithVehicleCapacity(callback, 0, capacities, False, "Load")
        load = self.routing.GetDimensionOrDie("Load")
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
        """Shifts, and working time in the objective. A vehicle on the road starts now from
        where it is; one with stops on board may finish late, at a cost above any drop."""
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
            if vehicle.time_cost:
                # the driver's working time (driving, waiting, serving) counts, not only the driving
                self.time.SetSpanCostCoefficientForVehicle(vehicle.time_cost, v_index)

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


def _solve_pyvrp(problem: Problem) -> Solution:
    """Every stop required first: PyVRP searches best that way. If no feasible plan is found
    in half the time, the second half searches with optional stops (a prize each) and returns
    a partial plan."""
    import numpy as np  # noqa: PLC0415
    import pyvrp  # noqa: PLC0415
    from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria  # noqa: PLC0415

    vehicles, stops = list(problem.vehicles), list(problem.stops)
    depot_locs = sorted({v.start for v in vehicles} | {v.end for v in vehicles if v.end is not None})
    open_end = any(v.end is None for v in vehicles)
    n_depots = len(depot_locs) + (1 if open_end else 0)
    open_depot = len(depot_locs) if open_end else None
    # PyVRP locations: the depots, the open-end depot if any, then one per stop
    matrix_index = list(depot_locs) + ([None] if open_end else []) + [s.location for s in stops]
    size = len(matrix_index)
    real = np.array([i if i is not None else 0 for i in matrix_index])
    dur = np.asarray(problem.durations, dtype=np.int64)[np.ix_(real, real)]
    dist = np.asarray(problem.distances, dtype=np.int64)[np.ix_(real, real)]
    if open_end:  # routes may end there from anywhere at no cost
        dur[:, open_depot] = dur[open_depot, :] = 0
        dist[:, open_depot] = dist[open_depot, :] = 0
    location_of = {s.id: n_depots + i for i, s in enumerate(stops)}
    pairs = [s for s in stops if s.pickup_id is not None]
    by_id = {s.id: s for s in stops}
    client_stops = [s for s in stops if not s.is_pickup and s.pickup_id is None]
    big = sum(s.demand for s in stops) + 1

    def build(required):
        clients = [
            pyvrp.Client(
                location=location_of[s.id],
                delivery=[s.demand, 1],
                service_duration=s.service,
                tw_early=s.window_start,
                tw_late=s.window_end,
                required=required,
                prize=0 if required else drop_penalty(problem, s),
            )
            for s in client_stops
        ]
        shipments = [
            pyvrp.Shipment(
                pickup_location=location_of[d.pickup_id],
                delivery_location=location_of[d.id],
                pickup_tw_early=by_id[d.pickup_id].window_start,
                pickup_tw_late=by_id[d.pickup_id].window_end,
                pickup_service_duration=by_id[d.pickup_id].service,
                delivery_tw_early=d.window_start,
                delivery_tw_late=d.window_end,
                delivery_service_duration=d.service,
                amount=[d.demand, 0],
                required=required,
                prize=0 if required else drop_penalty(problem, d),
            )
            for d in pairs
        ]
        return pyvrp.ProblemData(
            locations=[pyvrp.Location(x=0, y=0) for _ in range(size)],
            clients=clients,
            depots=[pyvrp.Depot(location=i) for i in range(n_depots)],
            vehicle_types=vehicle_types,
            distance_matrices=[dist],
            duration_matrices=[dur],
            shipments=shipments,
        )

    # identical vehicles share a vehicle type: PyVRP searches better that way
    groups = {}
    for v in vehicles:
        key = (
            v.start,
            v.end,
            v.capacity,
            v.max_stops,
            v.shift_start,
            v.shift_end,
            v.time_cost,
            v.distance_cost,
        )
        groups.setdefault(key, []).append(v)
    depot_index = {loc: i for i, loc in enumerate(depot_locs)}
    vehicle_types = [
        pyvrp.VehicleType(
            num_available=len(group),
            capacity=[group[0].capacity or big, group[0].max_stops or len(stops) + 1],
            start_depot=depot_index[group[0].start],
            end_depot=depot_index[group[0].end] if group[0].end is not None else open_depot,
            tw_early=group[0].shift_start,
            tw_late=group[0].shift_end,
            unit_distance_cost=group[0].distance_cost,
            unit_duration_cost=group[0].time_cost,
        )
        for group in groups.values()
    ]

    def criterion(seconds):
        criteria = [MaxRuntime(max(seconds, 0.01))]
        if problem.iteration_limit:
            criteria.append(MaxIterations(max(problem.iteration_limit // 2, 1)))
        return criteria[0] if len(criteria) == 1 else MultipleCriteria(criteria)

    half = problem.time_limit / 2
    data = build(required=True)
    with warnings.catch_warnings():  # not every stop fitting is what the second half is for
        warnings.simplefilter("ignore", pyvrp.exceptions.PenaltyBoundWarning)
        best = pyvrp.solve(
            data, stop=criterion(half), seed=problem.seed, display=False, collect_stats=False
        ).best
    if best.is_feasible():
        best = pyvrp.solve(
            data,
            stop=criterion(half),
            seed=problem.seed,
            display=False,
            collect_stats=False,
            initial_solution=best,
        ).best
    else:
        data = build(required=False)
        best = pyvrp.solve(
            data, stop=criterion(half), seed=problem.seed, display=False, collect_stats=False
        ).best

    solution = Solution(engine="pyvrp")
    available = [list(group) for group in groups.values()]
    for route in best.routes():
        vehicle = available[route.vehicle_type()].pop(0)
        sequence = []
        for activity in route.schedule():
            if activity.is_client():
                sequence.append(client_stops[activity.idx].id)
            elif activity.is_shipment():
                delivery = pairs[activity.idx]
                sequence.append(delivery.pickup_id if activity.is_pickup() else delivery.id)
        if sequence:
            solution.routes.append(schedule(problem, vehicle, sequence))
    return solution

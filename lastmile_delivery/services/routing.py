"""Vehicle routing with time windows: plain data in, ordered routes out.

Two backends behind one interface:

* **OR-Tools** routing expresses everything this module offers: capacity (on-board load),
  hard or soft time windows, service times, shifts, several vehicles and depots, stops pinned
  to a vehicle, locked route prefixes (stops already done or under way keep their place; a
  driver on the road starts from where they are, at the current time), pickup-and-delivery
  pairs, optional stops with a drop penalty, and a warm start from existing routes.
* **PyVRP** (hybrid genetic search) finds markedly better plans in the same time on what it can
  express: no pins, no locked prefixes, hard windows only.

``engine="auto"`` picks PyVRP when the problem fits it, else OR-Tools. All times are integers
in seconds (or any unit, consistently), distances integers in meters, loads integers.
Before solving, stops that no vehicle can possibly serve are set aside with a reason; stops the
solver leaves out get one too, so a plan is always returned, possibly partial.
"""

from __future__ import annotations

import dataclasses
import time
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
    # objective weights, per unit of the matrices: minutes of travel by default
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

    def allowed(self, vehicle_id) -> bool:
        if self.vehicle_id is not None:
            return vehicle_id == self.vehicle_id
        return self.vehicle_ids is None or vehicle_id in self.vehicle_ids

    pickup_id: Hashable | None = None  # this stop delivers what stop ``pickup_id`` picked up
    is_pickup: bool = False


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

    @property
    def distance(self) -> int:
        return sum(route.distance for route in self.routes)

    @property
    def duration(self) -> int:
        return sum(route.duration for route in self.routes)

    @property
    def feasible(self) -> bool:
        return all(visit.late == 0 for route in self.routes for visit in route.visits)


class RoutingError(Exception):
    """The problem is malformed (inconsistent sizes, unknown ids)."""


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
    for vehicle in problem.vehicles:
        for loc in (vehicle.start, vehicle.end):
            if loc is not None and not 0 <= loc < n:
                raise RoutingError(f"vehicle {vehicle.id}: location {loc} is not in the matrix")
        for stop_id in vehicle.locked:
            if stop_id not in known:
                raise RoutingError(f"vehicle {vehicle.id}: locked stop {stop_id} is not a stop")


def _precheck(problem: Problem) -> list[Unserved]:
    """Stops that no vehicle can serve whatever the plan, with the reason."""
    out = []
    locked = {sid for v in problem.vehicles for sid in v.locked}
    pair_load = {}
    for stop in problem.stops:
        if stop.pickup_id is not None:
            pair_load[stop.pickup_id] = stop.demand
    if not problem.vehicles:
        return [Unserved(s.id, REASON_NO_VEHICLE, "no vehicle is available") for s in problem.stops]
    for stop in problem.stops:
        if stop.id in locked:
            continue
        vehicles = [v for v in problem.vehicles if stop.allowed(v.id)]
        if not vehicles:
            out.append(Unserved(stop.id, REASON_VEHICLE, "none of the vehicles it may go with is available"))
            continue
        load = pair_load.get(stop.id, stop.demand)
        capacities = [v.capacity for v in vehicles]
        if load and all(capacities) and load > max(capacities):
            out.append(
                Unserved(
                    stop.id,
                    REASON_CAPACITY,
                    f"its load {load} is above every vehicle's capacity ({max(capacities)})",
                )
            )
            continue
        reachable = False
        for v in vehicles:
            earliest = max(v.shift_start + problem.durations[v.start][stop.location], stop.window_start)
            back = problem.durations[stop.location][v.end] if v.end is not None else 0
            if (problem.soft_late_penalty is not None or earliest <= stop.window_end) and (
                earliest + stop.service + back <= v.shift_end
            ):
                reachable = True
                break
        if not reachable:
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


def pyvrp_can_solve(problem: Problem) -> bool:
    return (
        problem.soft_late_penalty is None
        and not any(v.on_the_road for v in problem.vehicles)
        and not any(s.vehicle_id is not None or s.vehicle_ids is not None for s in problem.stops)
        and not problem.initial_routes
    )


def solve(problem: Problem) -> Solution:
    """Plan the routes; never raises for infeasibility (unserved stops carry a reason)."""
    _validate(problem)
    started = time.perf_counter()
    unserved = _precheck(problem)
    excluded = {u.stop_id for u in unserved}
    stops = [s for s in problem.stops if s.id not in excluded]
    sub = dataclasses.replace(problem, stops=stops)
    engine = problem.engine
    if engine == "auto":
        engine = "pyvrp" if pyvrp_can_solve(sub) and _pyvrp_available() else "ortools"
    if not stops or not problem.vehicles:
        solution = Solution(routes=[], engine=engine)
    elif engine == "pyvrp":
        solution = _solve_pyvrp(sub)
    elif engine == "ortools":
        solution = _solve_ortools(sub)
    else:
        raise RoutingError(f"unknown engine {engine!r}")
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
    solution.seconds = time.perf_counter() - started
    return solution


def _pyvrp_available() -> bool:
    try:
        import pyvrp  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------------- schedule


def schedule(
    problem: Problem, vehicle: Vehicle, stop_ids: Sequence[Hashable], start_time: int | None = None
) -> Route:
    """Times of a given sequence: arrival, wait, service start, lateness, load on board.

    The vehicle leaves as late as it can without making the first stop wait (and never before
    its shift starts); the distance includes the way back to its end location.
    """
    by_id = {s.id: s for s in problem.stops}
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
    by_id = {s.id: s for s in problem.stops}
    stop = by_id[stop_id]
    if not stop.allowed(vehicle.id):
        return None
    start = len([sid for sid in sequence if sid in set(vehicle.locked)])
    current = schedule(problem, vehicle, sequence, vehicle.shift_start if vehicle.on_the_road else None)
    late_before = sum(v.late for v in current.visits)
    best = None
    for position in range(start, len(sequence) + 1):
        candidate = [*sequence[:position], stop_id, *sequence[position:]]
        route = schedule(problem, vehicle, candidate, vehicle.shift_start if vehicle.on_the_road else None)
        if sum(v.late for v in route.visits) > late_before or route.end_time > max(
            vehicle.shift_end, current.end_time
        ):
            continue
        leaving = sum(
            by_id[sid].demand
            for sid in candidate
            if by_id[sid].pickup_id is None and not by_id[sid].is_pickup
        )
        if vehicle.capacity and max([leaving, *(v.load for v in route.visits)]) > vehicle.capacity:
            continue
        cost = vehicle.time_cost * route.duration + vehicle.distance_cost * route.distance
        if best is None or cost < best[0]:
            best = (cost, position, route)
    return None if best is None else (best[1], best[2])


# ---------------------------------------------------------------------------- OR-Tools


def _solve_ortools(problem: Problem) -> Solution:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2  # noqa: PLC0415

    vehicles, stops = list(problem.vehicles), list(problem.stops)
    dur, dist = problem.durations, problem.distances
    # nodes: one per distinct depot location, one "open end", then one per stop
    depot_locs = sorted({v.start for v in vehicles} | {v.end for v in vehicles if v.end is not None})
    # an "open end" node only when a route may end anywhere: OR-Tools must visit every node
    # that is neither a start, an end nor optional
    needs_open_end = any(v.end is None for v in vehicles)
    node_loc = list(depot_locs) + ([None] if needs_open_end else []) + [s.location for s in stops]
    open_end = len(depot_locs)
    first_stop = open_end + (1 if needs_open_end else 0)
    depot_node = {loc: i for i, loc in enumerate(depot_locs)}
    stop_node = {s.id: first_stop + i for i, s in enumerate(stops)}
    service = [0] * first_stop + [s.service for s in stops]
    n = len(node_loc)

    def arc(matrix, i, j):
        if node_loc[i] is None or node_loc[j] is None:
            return 0
        return matrix[node_loc[i]][node_loc[j]]

    travel = [[arc(dur, i, j) for j in range(n)] for i in range(n)]
    time_matrix = [[travel[i][j] + service[i] for j in range(n)] for i in range(n)]
    starts = [depot_node[v.start] for v in vehicles]
    ends = [depot_node[v.end] if v.end is not None else open_end for v in vehicles]
    manager = pywrapcp.RoutingIndexManager(n, len(vehicles), starts, ends)
    routing = pywrapcp.RoutingModel(manager)

    # arc costs: travel time by default, or each vehicle's weights of time and distance
    cost_callbacks = {}
    distance_node = None
    for v_index, vehicle in enumerate(vehicles):
        key = (vehicle.time_cost, vehicle.distance_cost)
        if key not in cost_callbacks:
            if key == (1, 0):
                matrix = travel
            else:
                if distance_node is None:
                    distance_node = [[arc(dist, i, j) for j in range(n)] for i in range(n)]
                matrix = [
                    [
                        vehicle.time_cost * travel[i][j] + vehicle.distance_cost * distance_node[i][j]
                        for j in range(n)
                    ]
                    for i in range(n)
                ]
            cost_callbacks[key] = routing.RegisterTransitMatrix(matrix)
        routing.SetArcCostEvaluatorOfVehicle(cost_callbacks[key], v_index)

    horizon = max(
        [v.shift_end for v in vehicles] + [s.window_end for s in stops if s.window_end < HORIZON] + [0]
    )
    horizon = max(horizon, max(v.shift_start for v in vehicles)) + max(max(map(max, time_matrix)), 1) * 2
    time_cb = routing.RegisterTransitMatrix(time_matrix)
    routing.AddDimension(time_cb, horizon, horizon, False, "Time")
    time_dim = routing.GetDimensionOrDie("Time")

    # load on board: start loaded with the depot deliveries (start cumul free), pairs in between
    pair_of_pickup = {s.pickup_id: s for s in stops if s.pickup_id is not None}
    demands = [0] * n
    for stop in stops:
        node = stop_node[stop.id]
        demands[node] = pair_of_pickup[stop.id].demand if stop.id in pair_of_pickup else -stop.demand
    big = sum(abs(d) for d in demands) + 1
    capacities = [v.capacity or big for v in vehicles]
    if any(demands):
        demand_cb = routing.RegisterUnaryTransitVector(demands)
        routing.AddDimensionWithVehicleCapacity(demand_cb, 0, capacities, False, "Load")
        load_dim = routing.GetDimensionOrDie("Load")
        for v_index in range(len(vehicles)):
            load_dim.CumulVar(routing.End(v_index)).SetRange(0, capacities[v_index])

    if any(v.max_stops for v in vehicles):
        count_cb = routing.RegisterUnaryTransitVector([0] * first_stop + [1] * len(stops))
        routing.AddDimensionWithVehicleCapacity(
            count_cb, 0, [v.max_stops or len(stops) for v in vehicles], True, "Stops"
        )

    locked = {sid for v in vehicles for sid in v.locked}
    max_travel = max(max(map(max, travel)), 1)
    for stop in stops:
        index = manager.NodeToIndex(stop_node[stop.id])
        cumul = time_dim.CumulVar(index)
        soft = problem.soft_late_penalty is not None or stop.id in locked
        if soft:
            cumul.SetRange(min(stop.window_start, horizon), horizon)
            if stop.window_end < horizon:
                time_dim.SetCumulVarSoftUpperBound(index, stop.window_end, problem.soft_late_penalty or 1000)
        else:
            cumul.SetRange(stop.window_start, min(stop.window_end, horizon))
        if stop.vehicle_id is not None or stop.vehicle_ids is not None:
            allowed = [i for i, v in enumerate(vehicles) if stop.allowed(v.id)]
            # -1 keeps the stop droppable (the Span-based SetAllowedVehiclesForIndex fails in
            # this OR-Tools build's Python bindings)
            routing.VehicleVar(index).SetValues([-1, *allowed])
        if stop.id not in locked and stop.pickup_id is None:
            penalty = 100 * max_travel * (1 + max(stop.priority, 0))
            routing.AddDisjunction([index], penalty)
    solver = routing.solver()
    for stop in stops:
        if stop.pickup_id is not None:
            pickup = manager.NodeToIndex(stop_node[stop.pickup_id])
            delivery = manager.NodeToIndex(stop_node[stop.id])
            routing.AddPickupAndDelivery(pickup, delivery)
            solver.Add(routing.VehicleVar(pickup) == routing.VehicleVar(delivery))
            solver.Add(routing.ActiveVar(pickup) == routing.ActiveVar(delivery))
            solver.Add(time_dim.CumulVar(pickup) <= time_dim.CumulVar(delivery))
            if stop.id not in locked:
                # one disjunction for the pair's delivery; its pickup follows through ActiveVar
                routing.AddDisjunction([delivery], 100 * max_travel * (1 + max(stop.priority, 0)))
    for v_index, vehicle in enumerate(vehicles):
        start_cumul = time_dim.CumulVar(routing.Start(v_index))
        end_cumul = time_dim.CumulVar(routing.End(v_index))
        latest = max(vehicle.shift_start, vehicle.shift_end)
        if vehicle.on_the_road:
            start_cumul.SetRange(vehicle.shift_start, vehicle.shift_start)
            # what is under way finishes even if it runs over the shift
            end_cumul.SetRange(vehicle.shift_start, horizon if vehicle.locked else latest)
        else:
            start_cumul.SetRange(vehicle.shift_start, latest)
            end_cumul.SetRange(vehicle.shift_start, latest)
            routing.AddVariableMaximizedByFinalizer(start_cumul)  # leave as late as useful
        routing.AddVariableMinimizedByFinalizer(end_cumul)
        if vehicle.time_cost:
            # the driver's working time (driving, waiting, serving) counts, not only the driving
            time_dim.SetSpanCostCoefficientForVehicle(vehicle.time_cost, v_index)

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(int(problem.time_limit * 1000), 10))
    if problem.iteration_limit:
        params.solution_limit = problem.iteration_limit
    # the metaheuristic is ignored unless the model is closed with these parameters before
    # locks or initial routes are read
    routing.CloseModelWithParameters(params)
    locks = [[manager.NodeToIndex(stop_node[sid]) for sid in v.locked] for v in vehicles]
    assignment = None
    if any(locks):
        routing.ApplyLocksToAllVehicles(locks, False)
    if problem.initial_routes:
        routes = [
            [
                manager.NodeToIndex(stop_node[sid])
                for sid in problem.initial_routes.get(v.id, [])
                if sid in stop_node
            ]
            for v in vehicles
        ]
        initial = routing.ReadAssignmentFromRoutes(routes, True)
        if initial:
            assignment = routing.SolveFromAssignmentWithParameters(initial, params)
    if assignment is None:
        assignment = routing.SolveWithParameters(params)
    solution = Solution(engine="ortools")
    if assignment is None:
        solution.unserved = [
            Unserved(s.id, REASON_DROPPED, "no plan could be found within the time limit") for s in stops
        ]
        return solution
    for v_index, vehicle in enumerate(vehicles):
        index = routing.Start(v_index)
        start_time = assignment.Value(time_dim.CumulVar(index))
        sequence = []
        index = assignment.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            sequence.append(stops[node - first_stop].id)
            index = assignment.Value(routing.NextVar(index))
        if sequence:
            solution.routes.append(
                schedule(problem, vehicle, sequence, start_time if vehicle.on_the_road else None)
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
    max_travel = int(dur.max()) or 1
    pairs = [s for s in stops if s.pickup_id is not None]
    by_id = {s.id: s for s in stops}
    client_stops = [s for s in stops if not s.is_pickup and s.pickup_id is None]
    big = sum(s.demand for s in stops) + 1

    def prize(stop):
        return 100 * max_travel * (1 + max(stop.priority, 0))

    def build(required):
        clients = [
            pyvrp.Client(
                location=location_of[s.id],
                delivery=[s.demand, 1],
                service_duration=s.service,
                tw_early=s.window_start,
                tw_late=s.window_end,
                required=required,
                prize=0 if required else prize(s),
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
                prize=0 if required else prize(d),
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
    best = pyvrp.solve(data, stop=criterion(half), seed=problem.seed, display=False, collect_stats=False).best
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

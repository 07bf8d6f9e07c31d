"""Production-shaped routing instances, format ``lastmile-vrp/1`` (see data/production/README.md).

Reads an instance, turns it into the suite's engine problem, checks a plan against every rule of
the format without any code of the engine (double precision), and solves it with PyVRP alone
(the model the reference values were made with: one vehicle type and one profile per vehicle).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

FORMAT = "lastmile-vrp/1"
SCALE = 1000  # the engines work on integers: times, distances and loads in thousandths
EPS = 1e-6


@dataclass
class Vehicle:
    id: str
    start: int
    end: int
    shift: tuple
    capacity: tuple
    skills: frozenset


@dataclass
class Stop:
    id: str
    location: int
    window: tuple
    service: float
    demand: tuple
    skills: frozenset
    vehicle: str | None


@dataclass
class Instance:
    name: str
    locations: list
    vehicles: list
    stops: list

    def distance(self, i: int, j: int) -> float:
        (x1, y1), (x2, y2) = self.locations[i], self.locations[j]
        return math.hypot(x1 - x2, y1 - y2)

    def may_serve(self, vehicle: Vehicle, stop: Stop) -> bool:
        return stop.skills <= vehicle.skills and stop.vehicle in (None, vehicle.id)


def read(path: Path) -> Instance:
    data = json.loads(Path(path).read_text())
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} instance")
    if data.get("objective", "distance") != "distance":
        raise ValueError(f"{path}: only the distance objective is known")
    vehicles = [
        Vehicle(
            id=str(v["id"]),
            start=int(v["start"]),
            end=int(v["end"]),
            shift=tuple(float(t) for t in v["shift"]),
            capacity=tuple(float(c) for c in v["capacity"]),
            skills=frozenset(v.get("skills") or ()),
        )
        for v in data["vehicles"]
    ]
    stops = [
        Stop(
            id=str(s["id"]),
            location=int(s["location"]),
            window=tuple(float(t) for t in s["window"]),
            service=float(s.get("service", 0.0)),
            demand=tuple(float(d) for d in s.get("demand") or ()),
            skills=frozenset(s.get("skills") or ()),
            vehicle=str(s["vehicle"]) if s.get("vehicle") is not None else None,
        )
        for s in data["stops"]
    ]
    return Instance(
        name=data["name"], locations=[tuple(p) for p in data["locations"]], vehicles=vehicles, stops=stops
    )


def check(inst: Instance, routes: list[dict]) -> tuple[float, int, list[str]]:
    """(total distance, stops served, violations) of ``routes`` (``{"vehicle", "stops"}``), in
    double precision: each stop at most once, each vehicle at most one route, skills, pins,
    windows (waiting allowed), every capacity dimension, shift start and end."""
    vehicles = {v.id: v for v in inst.vehicles}
    stops = {s.id: s for s in inst.stops}
    errors, seen, used = [], set(), set()
    total = 0.0
    for route in routes:
        vehicle = vehicles.get(route["vehicle"])
        if vehicle is None:
            errors.append(f"unknown vehicle {route['vehicle']}")
            continue
        if vehicle.id in used:
            errors.append(f"vehicle {vehicle.id} drives twice")
        used.add(vehicle.id)
        now, here = vehicle.shift[0], vehicle.start
        load = [0.0] * len(vehicle.capacity)
        for stop_id in route["stops"]:
            stop = stops.get(stop_id)
            if stop is None:
                errors.append(f"unknown stop {stop_id}")
                continue
            if stop_id in seen:
                errors.append(f"stop {stop_id} is visited twice")
            seen.add(stop_id)
            if not stop.skills <= vehicle.skills:
                errors.append(f"vehicle {vehicle.id} lacks the skills of {stop_id}")
            if stop.vehicle not in (None, vehicle.id):
                errors.append(f"stop {stop_id} is pinned to {stop.vehicle}, served by {vehicle.id}")
            leg = inst.distance(here, stop.location)
            total += leg
            begin = max(now + leg, stop.window[0])
            if begin > stop.window[1] + EPS:
                errors.append(f"vehicle {vehicle.id} serves {stop_id} at {begin:.2f}, after {stop.window[1]}")
            now, here = begin + stop.service, stop.location
            for k, amount in enumerate(stop.demand):
                if k >= len(load):
                    errors.append(f"stop {stop_id} has a load dimension vehicle {vehicle.id} lacks")
                    break
                load[k] += amount
        back = inst.distance(here, vehicle.end)
        total += back
        if now + back > vehicle.shift[1] + EPS:
            errors.append(f"vehicle {vehicle.id} is back at {now + back:.2f}, after {vehicle.shift[1]}")
        for k, (amount, capacity) in enumerate(zip(load, vehicle.capacity, strict=True)):
            if amount > capacity + EPS:
                errors.append(f"vehicle {vehicle.id} carries {amount:g} in dimension {k}, above {capacity:g}")
    return total, len(seen), errors


def integer_matrices(inst: Instance):
    """Durations rounded up (a plan on time in integers is on time in double precision) and
    distances rounded, in thousandths; as numpy arrays."""
    import numpy as np  # noqa: PLC0415

    points = np.asarray(inst.locations, dtype=float)
    exact = np.hypot(points[:, None, 0] - points[None, :, 0], points[:, None, 1] - points[None, :, 1])
    return np.ceil(exact * SCALE - EPS).astype(np.int64), np.rint(exact * SCALE).astype(np.int64)


def _up(value: float) -> int:
    return math.ceil(value * SCALE - EPS)


def _down(value: float) -> int:
    return math.floor(value * SCALE + EPS)


def engine_problem(engine, inst: Instance, time_limit: float, engine_name: str, seed: int):
    """The instance as a problem of the suite's engine: distance is the objective, stops are
    optional; skills and pins become allowed vehicles."""
    durations, distances = integer_matrices(inst)
    vehicles = [
        engine.Vehicle(
            id=v.id,
            start=v.start,
            end=v.end,
            capacity=tuple(_down(c) for c in v.capacity),
            shift_start=_up(v.shift[0]),
            shift_end=_down(v.shift[1]),
            time_cost=0,
            distance_cost=1,
        )
        for v in inst.vehicles
    ]
    stops = []
    for s in inst.stops:
        allowed = tuple(v.id for v in inst.vehicles if inst.may_serve(v, s))
        stops.append(
            engine.Stop(
                id=s.id,
                location=s.location,
                demand=tuple(_up(d) for d in s.demand),
                window_start=_up(s.window[0]),
                window_end=_down(s.window[1]),
                service=_up(s.service),
                vehicle_ids=None if len(allowed) == len(inst.vehicles) else allowed,
            )
        )
    return engine.Problem(
        durations=durations,
        distances=distances,
        vehicles=vehicles,
        stops=stops,
        time_limit=time_limit,
        seed=seed,
        engine=engine_name,
    )


def solve_ours(engine, inst: Instance, time_limit: float, engine_name: str, seed: int):
    solution = engine.solve(engine_problem(engine, inst, time_limit, engine_name, seed))
    routes = [
        {"vehicle": route.vehicle_id, "stops": [v.stop_id for v in route.visits]} for route in solution.routes
    ]
    return solution.engine or engine_name, routes, solution.error_text


def solve_peer(inst: Instance, time_limit: float, seed: int):
    """PyVRP alone, as the reference values were made: each vehicle its own vehicle type with
    its own profile, in which the stops it may not serve are out of reach; stops optional, with
    a prize above any detour."""
    import numpy as np  # noqa: PLC0415
    import pyvrp  # noqa: PLC0415
    from pyvrp.stop import MaxRuntime  # noqa: PLC0415

    durations, distances = integer_matrices(inst)
    depots = sorted({v.start for v in inst.vehicles} | {v.end for v in inst.vehicles})
    depot_of = {loc: i for i, loc in enumerate(depots)}
    order = depots + [s.location for s in inst.stops]  # PyVRP locations: depots, then stops
    index = np.asarray(order)
    duration = durations[np.ix_(index, index)]
    distance = distances[np.ix_(index, index)]
    unreachable = int(duration.max()) * (len(order) + 1)
    prize = int(distance.max()) * 4 + 1
    duration_matrices, distance_matrices = [], []
    for vehicle in inst.vehicles:
        forbidden = [len(depots) + k for k, s in enumerate(inst.stops) if not inst.may_serve(vehicle, s)]
        dur, dist = duration.copy(), distance.copy()
        dur[:, forbidden] = unreachable
        dist[:, forbidden] = unreachable
        np.fill_diagonal(dur, 0)
        np.fill_diagonal(dist, 0)
        duration_matrices.append(dur)
        distance_matrices.append(dist)
    data = pyvrp.ProblemData(
        locations=[pyvrp.Location(x=inst.locations[i][0], y=inst.locations[i][1]) for i in order],
        clients=[
            pyvrp.Client(
                location=len(depots) + k,
                delivery=[_up(d) for d in s.demand],
                service_duration=_up(s.service),
                tw_early=_up(s.window[0]),
                tw_late=_down(s.window[1]),
                required=False,
                prize=prize,
            )
            for k, s in enumerate(inst.stops)
        ],
        depots=[pyvrp.Depot(location=i) for i in range(len(depots))],
        vehicle_types=[
            pyvrp.VehicleType(
                num_available=1,
                capacity=[_down(c) for c in v.capacity],
                start_depot=depot_of[v.start],
                end_depot=depot_of[v.end],
                tw_early=_up(v.shift[0]),
                tw_late=_down(v.shift[1]),
                profile=k,
                name=v.id,
            )
            for k, v in enumerate(inst.vehicles)
        ],
        distance_matrices=distance_matrices,
        duration_matrices=duration_matrices,
    )
    best = pyvrp.solve(data, stop=MaxRuntime(time_limit), seed=seed, display=False, collect_stats=False).best
    return [
        {
            "vehicle": inst.vehicles[route.vehicle_type()].id,
            "stops": [inst.stops[a.idx].id for a in route.schedule() if a.is_client()],
        }
        for route in best.routes()
    ]

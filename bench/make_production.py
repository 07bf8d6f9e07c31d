"""Make production-shaped instances (``lastmile-vrp/1``) from Solomon instances, in the manner of
the two examples of bench/data/production/ (whose generator is not ours): a second depot near
the middle, a mixed fleet (every fifth van a big one, every third refrigerated, every fourth on
a late shift, every third from the second depot), weight and volume, about a quarter of the
stops cold (refrigerated vans only) and a few pinned to a van.

    .venv/bin/python bench/make_production.py --seed 2 --out DIR bench/data/solomon/R102.txt …

Instances made this way tune and check the engine beyond the two examples; their reference
values come from bench/routing.py's PyVRP peer given 120 s (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import math
import random
from pathlib import Path

from routing import read_solomon

ROOT = Path(__file__).resolve().parent.parent


def make(path: Path, seed: int) -> dict:
    inst = read_solomon(path)
    rng = random.Random(f"{inst.name}-{seed}")
    bks = json.loads((ROOT / "bench" / "data" / "bks.json").read_text()).get(inst.name, {})
    best_vehicles = bks.get("vehicles_at_best_distance") or inst.vehicles
    count = min(inst.vehicles, math.ceil(best_vehicles * 1.2))
    xs, ys = inst.x, inst.y
    middle = (
        round((min(xs) + max(xs)) / 2 + rng.uniform(-5, 5), 1),
        round((min(ys) + max(ys)) / 2 + rng.uniform(-5, 5), 1),
    )
    locations = [[x, y] for x, y in zip(xs, ys, strict=True)] + [list(middle)]
    second = len(locations) - 1
    horizon = inst.due[0]
    vehicles = []
    for k in range(1, count + 1):
        big = k % 5 == 1
        depot = second if k % 3 == 1 else 0
        vehicles.append(
            {
                "id": f"v{k}",
                "start": depot,
                "end": depot,
                "shift": [round(0.25 * horizon, 1) if k % 4 == 0 else 0.0, horizon],
                "capacity": [inst.capacity * (1.5 if big else 1.0), 40.0 if big else 25.0],
                "skills": ["cold"] if k % 3 == 2 else [],
            }
        )
    stops = []
    for c in range(1, inst.size):
        stop = {
            "id": f"s{c}",
            "location": c,
            "window": [inst.ready[c], inst.due[c]],
            "service": inst.service[c],
            "demand": [float(inst.demand[c]), float(rng.randint(1, 6))],
            "skills": [],
        }
        draw = rng.random()
        if draw < 0.06:
            stop["vehicle"] = rng.choice(vehicles)["id"]
        elif draw < 0.31:
            stop["skills"] = ["cold"]
        stops.append(stop)
    return {
        "name": f"P-{inst.name}-{seed}",
        "format": "lastmile-vrp/1",
        "objective": "distance",
        "locations": locations,
        "vehicles": vehicles,
        "stops": stops,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.files:
        instance = make(path, args.seed)
        target = args.out / f"{instance['name']}.json"
        target.write_text(json.dumps(instance, indent=1) + "\n")
        print(target)


if __name__ == "__main__":
    main()

"""The routing adapter on Solomon's VRPTW instances, against the best known distances, and a city day.

    .venv/bin/python bench/routing.py [--instances ../shared/data/vrptw/solomon] [--seconds 5]
        [--only C101,R101] [--out results.csv] [--routes-out routes.json] [--city-seconds 20] [--no-city | --no-solomon]

For each instance the adapter minimises total distance with at most the instance's number of vehicles.
Times and distances go to the solver scaled by 1000: distances rounded, travel times rounded *up*, so a
route that keeps its windows in the scaled data keeps them with exact Euclidean times too. The distance
reported is recomputed from the returned routes with exact Euclidean distances, feasibility is decided by
``doorstep.routing.check`` in exact arithmetic, and the gap is taken to ``bks_distance.csv``.
The CSV has ``instance,distance,vehicles,bks,gap_pct,feasible``; the JSON maps each instance to its routes
as lists of customer numbers (as numbered in the instance file) in visiting order.

The city day: 20 pairs of collectors (40 people) and 400 visits over a Chengdu-sized area, appointment
windows and the 08:00-22:00 contact hours, service 20-40 min, shifts 09:00-18:00, more visits than the
day can hold. It prints the time to plan (matrix included), visits planned and left out by reason.
The last line holds ``name=value`` pairs.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import statistics
import sys
import time
from collections import Counter
from datetime import datetime
from datetime import time as clock_time
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import vrplib

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from doorstep.routing.check import EuclideanTravel, check_plan, check_routes, euclidean_length
from doorstep.routing.matrix import TravelProfile, euclidean_matrix, haversine_matrix
from doorstep.routing.problem import Depot, Point, Problem, Stop, TimeWindow, Vehicle, visit_prize
from doorstep.routing.solve import Plan, solve

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_INSTANCES = ROOT.parent / "shared" / "data" / "vrptw" / "solomon"
SCALE = 1000
# Two entries of bks_distance.csv lie below the optimum of the same instance with distances truncated to one
# decimal, as found by exact methods and tabulated by Dorronsoro's VRP web (bernabe.dorronsoro.es/vrp; read
# through a copy in a public repository, not re-derived here). Truncating shortens every distance and travel
# time, so that optimum is a lower bound with exact distances: no feasible solution reaches these two
# references. The bench reports the gap to bks_distance.csv as it stands, and the mean without them.
UNREACHABLE_REFERENCES = {"R109": Fraction("1146.9"), "RC103": Fraction("1258.0")}


# ---------------------------------------------------------------------------------------------- Solomon


def solomon_problem(path: Path) -> tuple[Problem, dict[int, tuple[int, int]]]:
    """The instance as a routing problem in thousandths of its units, and its integer coordinates."""
    instance = vrplib.read_instance(str(path), instance_format="solomon")
    coords = {number: (int(x), int(y)) for number, (x, y) in enumerate(instance["node_coord"].tolist())}
    numbers = sorted(coords)
    matrix = euclidean_matrix(coords, SCALE)
    ready, due = (int(v) for v in instance["time_window"][0])
    depot = Depot("depot", 0)
    vehicle = Vehicle(
        id="vehicle",
        start=depot,
        end=depot,
        shift=TimeWindow(ready * SCALE, due * SCALE),
        capacity=int(instance["capacity"]),
        profile="euclidean",
        count=int(instance["vehicles"]),
    )
    stops = tuple(
        Stop(
            id=str(number),
            location=number,
            service=int(instance["service_time"][number]) * SCALE,
            windows=(TimeWindow(int(instance["time_window"][number][0]) * SCALE,
                                int(instance["time_window"][number][1]) * SCALE),),
            required=True,
            demand=int(instance["demand"][number]),
        )
        for number in numbers[1:]
    )
    return Problem(vehicles=(vehicle,), stops=stops, matrices={"euclidean": matrix}), coords


def exact_distance(plan: Plan, coords: dict[int, tuple[int, int]]) -> Fraction:
    total_lo = total_hi = Fraction(0)
    for route in plan.routes:
        points = [coords[0], *(coords[int(stop_id)] for stop_id in route.stop_ids), coords[0]]
        lo, hi = euclidean_length(points, digits=30)
        total_lo, total_hi = total_lo + lo, total_hi + hi
    return (total_lo + total_hi) / 2


def read_bks(directory: Path) -> dict[str, Fraction]:
    with (directory / "bks_distance.csv").open(newline="") as handle:
        return {row["instance"]: Fraction(row["distance"]) for row in csv.DictReader(handle)}


def run_solomon(args: argparse.Namespace) -> dict[str, str]:
    directory = Path(args.instances)
    bks = read_bks(directory)
    names = sorted(path.stem for path in directory.glob("*.txt"))
    if args.only:
        wanted = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = [name for name in wanted if name not in names]
        if unknown:
            raise SystemExit(f"no such instance in {directory}: {', '.join(unknown)}")
        names = wanted
    rows: list[dict[str, str]] = []
    routes_out: dict[str, list[list[int]]] = {}
    # Instances whose reference lies below the proven optimum (see UNREACHABLE_REFERENCES).
    unreachable = [name for name in names if name in bks and bks[name] < UNREACHABLE_REFERENCES.get(name, 0)]
    gaps: list[float] = []
    reachable_gaps: list[float] = []
    infeasible: list[str] = []
    cpu_seconds: list[float] = []  # on a shared machine the search may get much less than its wall time
    wall_seconds: list[float] = []
    for name in names:
        problem, coords = solomon_problem(directory / f"{name}.txt")
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        plan = solve(problem, seconds=args.seconds, seed=args.seed, workers=args.workers)
        cpu_seconds.append(time.process_time() - cpu_before)
        wall_seconds.append(time.perf_counter() - wall_before)
        routes = [[int(stop_id) for stop_id in route.stop_ids] for route in plan.routes]
        violations = check_routes(
            problem, [(route.vehicle_id, route.stop_ids) for route in plan.routes], EuclideanTravel(coords, SCALE)
        )
        feasible = not violations and plan.complete
        distance = exact_distance(plan, coords)
        reference = bks.get(name)
        gap = float((distance - reference) / reference * 100) if reference else float("nan")
        if feasible and reference:
            gaps.append(gap)
            if name not in unreachable:
                reachable_gaps.append(gap)
        else:
            infeasible.append(name)
        routes_out[name] = routes
        rows.append({
            "instance": name,
            "distance": f"{float(distance):.2f}",
            "vehicles": str(len(routes)),
            "bks": f"{float(reference):.2f}" if reference else "",
            "gap_pct": f"{gap:.3f}",
            "feasible": "yes" if feasible else "no",
        })
        detail = "" if feasible else "  " + "; ".join(str(v) for v in violations[:3])
        print(f"{name:6} distance={float(distance):9.2f} vehicles={len(routes):2d} "
              f"bks={float(reference or 0):9.2f} gap={gap:+7.3f}% feasible={rows[-1]['feasible']} "
              f"wall={wall_seconds[-1]:.1f}s cpu={cpu_seconds[-1]:.1f}s{detail}",
              flush=True)
    if args.out:
        with Path(args.out).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["instance", "distance", "vehicles", "bks", "gap_pct", "feasible"])
            writer.writeheader()
            writer.writerows(rows)
    if args.routes_out:
        Path(args.routes_out).write_text(json.dumps(routes_out, indent=1))
    mean_gap = statistics.fmean(gaps) if gaps else float("nan")
    worst = max(gaps) if gaps else float("nan")
    print(f"solomon: {len(rows)} instances, {args.seconds:g} s each, {args.workers} search(es) side by side, "
          f"mean gap {mean_gap:+.3f}%, median {statistics.median(gaps) if gaps else float('nan'):+.3f}%, "
          f"worst {worst:+.3f}%, at most +0.1%: {sum(gap <= 0.1 for gap in gaps)}, "
          f"infeasible {len(infeasible)}{' (' + ', '.join(infeasible) + ')' if infeasible else ''}")
    mean_reachable = statistics.fmean(reachable_gaps) if reachable_gaps else float("nan")
    if unreachable:
        floors = ", ".join(
            f"{name} {float(bks[name]):.2f} < {float(UNREACHABLE_REFERENCES[name]):.1f} "
            f"(gap at least {float((UNREACHABLE_REFERENCES[name] - bks[name]) / bks[name] * 100):+.2f}%)"
            for name in unreachable
        )
        print(f"references below the proven optimum: {floors}; mean gap without them "
              f"({len(reachable_gaps)} instances) {mean_reachable:+.3f}%")
    return {
        "instances": str(len(rows)),
        "seconds_per_instance": f"{args.seconds:g}",
        "workers": str(args.workers),
        "max_wall_seconds": f"{max(wall_seconds):.2f}" if wall_seconds else "nan",
        "mean_gap_pct": f"{mean_gap:.4f}",
        "mean_gap_reachable_pct": f"{mean_reachable:.4f}",
        "worst_gap_pct": f"{worst:.4f}",
        "infeasible": str(len(infeasible)),
        "mean_cpu_seconds": f"{statistics.fmean(cpu_seconds):.2f}" if cpu_seconds else "nan",
    }


# ---------------------------------------------------------------------------------------------- city day

CHENGDU = Point(30.657, 104.066)
SHANGHAI_TIME = ZoneInfo("Asia/Shanghai")


def _near(rng: random.Random, centre: Point, sigma_km: float) -> Point:
    dlat = rng.gauss(0, sigma_km) / 111.0
    dlon = rng.gauss(0, sigma_km) / (111.0 * math.cos(math.radians(centre.lat)))
    return Point(round(centre.lat + dlat, 6), round(centre.lon + dlon, 6))


def city_day_problem(seed: int, pairs: int = 20, visits: int = 400) -> Problem:
    rng = random.Random(seed)
    day = datetime(2026, 11, 30, tzinfo=SHANGHAI_TIME)

    def at(hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day.date(), clock_time(hour, minute), tzinfo=SHANGHAI_TIME)

    branches = [Depot(f"branch-{n}", _near(rng, CHENGDU, 5.0)) for n in range(5)]
    shift = TimeWindow.from_datetimes(day, at(9), at(18))
    contact_hours = (TimeWindow.from_datetimes(day, at(8), at(22)),)  # CN-T1: no visit 22:00-08:00
    vehicles = []
    for n in range(pairs):
        branch = branches[n % len(branches)]
        home = Depot(f"home-{n}", _near(rng, branch.location, 3.0))  # type: ignore[arg-type]
        place = home if n % 4 == 3 else branch
        vehicles.append(Vehicle(
            id=f"pair-{n:02d}",
            start=place,
            end=place,
            shift=shift,
            capacity=14,
            profile="chengdu-urban",
            members=(f"CD{2 * n + 1:04d}", f"CD{2 * n + 2:04d}"),
        ))
    stops = []
    for n in range(visits):
        branch = branches[rng.randrange(len(branches))]
        place = _near(rng, branch.location, 4.0)  # type: ignore[arg-type]
        kind = rng.random()
        if kind < 0.5:
            hour = rng.randint(9, 15)
            windows: tuple[TimeWindow, ...] = (TimeWindow.from_datetimes(day, at(hour), at(hour + 2)),)
        elif kind < 0.7:
            windows = (TimeWindow.from_datetimes(day, at(9), at(11, 30)),
                       TimeWindow.from_datetimes(day, at(14), at(17)))
        else:
            windows = ()
        required = rng.random() < 0.05
        stops.append(Stop(
            id=f"visit-{n:03d}",
            location=place,
            service=rng.randint(20, 40) * 60,
            windows=windows,
            allowed_windows=contact_hours,
            required=required,
            prize=visit_prize(overdue_fen=rng.randint(50_000, 8_000_000), strategy_priority=rng.randint(0, 3)),
        ))
    points = list(dict.fromkeys([*(v.start.location for v in vehicles), *(s.location for s in stops)]))
    profile = TravelProfile("chengdu-urban", speed_kmh=22.0, detour_factor=1.35)
    matrix = haversine_matrix(points, profile)  # type: ignore[arg-type]
    return Problem(vehicles=tuple(vehicles), stops=tuple(stops), matrices={profile.name: matrix}, day_start=day)


def run_city_day(args: argparse.Namespace) -> dict[str, str]:
    started, cpu_started = time.perf_counter(), time.process_time()
    problem = city_day_problem(args.seed)
    plan = solve(problem, seconds=args.city_seconds, seed=args.seed, workers=args.workers)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    violations = check_plan(problem, plan)
    reasons = Counter(item.reason.value for item in plan.left_out)
    planned = len(plan.planned_ids)
    print(f"city day: {len(problem.vehicles)} pairs, {len(problem.stops)} visits: planned {planned}, "
          f"left out {len(plan.left_out)} {dict(reasons)}, required all planned: {plan.complete}, "
          f"{plan.distance / 1000:.1f} km, {elapsed:.1f} s (cpu {cpu:.1f} s), violations {len(violations)}")
    for violation in violations[:5]:
        print(f"  {violation}")
    return {
        "city_seconds": f"{elapsed:.2f}",
        "city_cpu_seconds": f"{cpu:.2f}",
        "city_planned": str(planned),
        "city_left_out": str(len(plan.left_out)),
        "city_violations": str(len(violations)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", default=str(DEFAULT_INSTANCES), help="folder with Solomon *.txt and bks_distance.csv")
    parser.add_argument("--seconds", type=float, default=5.0, help="search time per instance")
    parser.add_argument("--only", default="", help="comma-separated instance names, e.g. C101,R101")
    parser.add_argument("--out", default="", help="CSV of per-instance results")
    parser.add_argument("--routes-out", default="", help="JSON of the routes per instance")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="searches run side by side, one process each (default: one per core)")
    parser.add_argument("--city-seconds", type=float, default=20.0, help="search time of the city day")
    parser.add_argument("--no-city", action="store_true", help="skip the city day")
    parser.add_argument("--no-solomon", action="store_true", help="only the city day")
    args = parser.parse_args()
    figures = {} if args.no_solomon else run_solomon(args)
    if not args.no_city:
        figures |= run_city_day(args)
    print(" ".join(f"{name}={value}" for name, value in figures.items()))


if __name__ == "__main__":
    main()

"""Delivery routes: the day's delivery orders from a location, sequenced with OR-Tools to keep
the driving short (great-circle distances from coordinates, an average speed, time windows when
the orders have them)."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

AVERAGE_SPEED_M_PER_MIN = 500  # ~30 km/h in town
SERVICE_MINUTES = 5  # at each door


@dataclass(frozen=True)
class Stop:
    key: int
    latitude: float
    longitude: float
    window: tuple[int, int] | None = None  # minutes after the start


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> int:
    """Great-circle (haversine) distance in metres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return round(2 * 6_371_000 * math.asin(math.sqrt(h)))


def sequence(
    depot: tuple[float, float], stops: Sequence[Stop], *, seconds: int = 2
) -> tuple[list[Stop], int, list[int]]:
    """The stops in visiting order, the total distance (m), and planned arrival minutes."""
    if not stops:
        return [], 0, []
    points = [depot] + [(s.latitude, s.longitude) for s in stops]
    matrix = [[distance_m(p, q) for q in points] for p in points]
    manager = pywrapcp.RoutingIndexManager(len(points), 1, 0)
    routing = pywrapcp.RoutingModel(manager)

    def distance(i: int, j: int) -> int:
        return matrix[manager.IndexToNode(i)][manager.IndexToNode(j)]

    def minutes(i: int, j: int) -> int:
        node = manager.IndexToNode(i)
        travel = math.ceil(matrix[node][manager.IndexToNode(j)] / AVERAGE_SPEED_M_PER_MIN)
        return travel + (SERVICE_MINUTES if node else 0)

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(distance))
    time_callback = routing.RegisterTransitCallback(minutes)
    routing.AddDimension(time_callback, 24 * 60, 24 * 60, True, "Time")
    time_dimension = routing.GetDimensionOrDie("Time")
    for node, stop in enumerate(stops, start=1):
        if stop.window:
            time_dimension.CumulVar(manager.NodeToIndex(node)).SetRange(*stop.window)
            routing.AddDisjunction([manager.NodeToIndex(node)], 10_000_000)  # late beats unsolvable
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.seconds = seconds
    solution = routing.SolveWithParameters(params)
    if solution is None:  # time windows impossible together: visit in window order instead
        ordered = sorted(stops, key=lambda s: (s.window or (0, 0))[0])
        return ordered, _length(depot, ordered), []
    ordered, arrivals, index = [], [], routing.Start(0)
    while not routing.IsEnd(index):
        node = manager.IndexToNode(index)
        if node:
            ordered.append(stops[node - 1])
            arrivals.append(solution.Min(time_dimension.CumulVar(index)))
        index = solution.Value(routing.NextVar(index))
    missing = [s for s in stops if s not in ordered]  # dropped by a window: still delivered, last
    return ordered + missing, _length(depot, ordered + missing), arrivals


def _length(depot: tuple[float, float], ordered: Sequence[Stop]) -> int:
    points = [depot] + [(s.latitude, s.longitude) for s in ordered] + [depot]
    return sum(distance_m(a, b) for a, b in itertools.pairwise(points))


def start_of(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9, 0), tzinfo=tz)

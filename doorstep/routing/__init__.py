"""Day planning for field visits: a pure adapter over PyVRP (plain data in, plain data out, no Django).

``problem`` describes the day, ``matrix`` builds travel matrices (haversine by default, OSRM when
configured), ``solve`` plans it, ``replan`` adjusts a plan after changes, ``check`` verifies any plan.
"""

from doorstep.routing.check import Violation, check_plan, check_routes
from doorstep.routing.matrix import MatrixError, OsrmClient, TravelMatrix, TravelProfile, haversine_matrix
from doorstep.routing.problem import (
    Depot,
    Point,
    Problem,
    ProblemError,
    Stop,
    TimeWindow,
    Vehicle,
    visit_prize,
)
from doorstep.routing.replan import Replanned, replan
from doorstep.routing.solve import LeftOut, LeftOutReason, Plan, PlannedRoute, PlannedStop, solve

__all__ = [
    "Depot",
    "LeftOut",
    "LeftOutReason",
    "MatrixError",
    "OsrmClient",
    "Plan",
    "PlannedRoute",
    "PlannedStop",
    "Point",
    "Problem",
    "ProblemError",
    "Replanned",
    "Stop",
    "TimeWindow",
    "TravelMatrix",
    "TravelProfile",
    "Vehicle",
    "Violation",
    "check_plan",
    "check_routes",
    "haversine_matrix",
    "replan",
    "solve",
    "visit_prize",
]

"""Pure token economics shared by settlement and the simulator (credits, fees, rewards, controller).

No I/O, no clock, no global RNG: callers pass the step number and every input. Money is integer base
units (``BASE_UNITS_PER_TOKEN`` per token); floats appear only in derived KPIs (Gini, velocity).
"""

from settlement.economics.book import TokenBook, new_book
from settlement.economics.controller import (
    ControllerState,
    initial_controller,
    price_anchor,
    update_controller,
)
from settlement.economics.metrics import gini, price_volatility, velocity
from settlement.economics.params import (
    BASE_UNITS_PER_TOKEN,
    EconomicsParams,
    EconomicsParamsError,
)
from settlement.economics.step import StepActivity, StepFlows, settle_step

__all__ = [
    "BASE_UNITS_PER_TOKEN",
    "ControllerState",
    "EconomicsParams",
    "EconomicsParamsError",
    "StepActivity",
    "StepFlows",
    "TokenBook",
    "gini",
    "initial_controller",
    "new_book",
    "price_anchor",
    "price_volatility",
    "settle_step",
    "update_controller",
    "velocity",
]

"""The result of a power analysis: the power table, the replicate rows and how they were made."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alliance.power.design import PowerDesign


@dataclass(frozen=True)
class PowerResult:
    """Simulated and analytic power of every tested effect at every grid point.

    Attributes
    ----------
    design : PowerDesign
        The design (the first grid point's values are replaced along the grid).
    points : tuple of PowerDesign
        The design of each grid point (one point without a grid).
    grid_parameter : str or None
        The design value varied along the grid (``sample.therapists``), if any.
    grid_values : tuple
        Its value at each point (``(None,)`` without a grid).
    table : pandas.DataFrame
        One row per point and effect; columns :data:`~alliance.power.summary.SUMMARY_COLUMNS`.
    replicates : pandas.DataFrame
        One row per replicate per effect; :data:`~alliance.power.replicate.REPLICATE_COLUMNS`.
    settings : dict
        Replicates, seed, batch size, executor and workers, replicates resumed from a folder.
    seconds : float
        Wall time of the analysis.
    """

    design: PowerDesign
    points: tuple[PowerDesign, ...]
    grid_parameter: str | None
    grid_values: tuple[Any, ...]
    table: pd.DataFrame = field(repr=False)
    replicates: pd.DataFrame = field(repr=False)
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_frame(self) -> pd.DataFrame:
        """The power table (a copy)."""
        return self.table.copy()

    def curve(self, term: str) -> pd.DataFrame:
        """The power curve of ``term``: grid value, simulated power with CI, analytic power."""
        rows = self.table[self.table["term"] == term]
        return rows[["grid_value", "power", "power_ci_low", "power_ci_high",
                     "analytic_power", "type_i_error"]].reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (NaN as None) for JSON: design, grid, settings and the power table."""
        records = [
            {key: _plain(value) for key, value in row.items()}
            for row in self.table.to_dict(orient="records")
        ]
        return {
            "design": self.design.to_dict(),
            "grid": None if self.grid_parameter is None else {
                "parameter": self.grid_parameter, "values": list(self.grid_values),
            },
            "settings": dict(self.settings),
            "seconds": self.seconds,
            "power": records,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value

"""io layer: read data tables and check their columns and values."""

from alliance.io.table import read_table
from alliance.io.validation import require_columns, require_integer_range, require_numeric

__all__ = ["read_table", "require_columns", "require_integer_range", "require_numeric"]

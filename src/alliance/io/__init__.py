"""io layer: read data tables and settings files; check columns and values."""

from alliance.io.settings import read_toml
from alliance.io.table import read_table
from alliance.io.validation import require_columns, require_integer_range, require_numeric

__all__ = ["read_table", "read_toml", "require_columns", "require_integer_range", "require_numeric"]

"""io layer: read data tables and settings files, write CSV and TOML; check columns and values; read
the fields of a configuration (:mod:`alliance.io.config_fields`)."""

from alliance.io.config_fields import REQUIRED, Section, naming_file
from alliance.io.settings import read_toml
from alliance.io.table import read_table, write_csv
from alliance.io.toml_writer import dumps as toml_dumps
from alliance.io.validation import require_columns, require_integer_range, require_numeric

__all__ = [
    "REQUIRED",
    "Section",
    "naming_file",
    "read_table",
    "read_toml",
    "require_columns",
    "require_integer_range",
    "require_numeric",
    "toml_dumps",
    "write_csv",
]

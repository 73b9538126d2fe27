"""Dialects: op definitions (verify, type rule, NumPy reference) registered into the IR.

Importing ``zenith.dialects`` registers every dialect.
"""

from zenith.dialects import zt  # noqa: F401

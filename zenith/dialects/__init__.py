"""Dialects: op definitions (verify, type rule, NumPy reference) registered into the IR.

Importing ``zenith.dialects`` registers every dialect: ``zt`` (tensor ops) and
``zk`` (kernels).
"""

from zenith.dialects import zk, zt  # noqa: F401

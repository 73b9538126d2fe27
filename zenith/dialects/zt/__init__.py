"""The ``zt`` (Zenith tensor) dialect: the core ops every frontend lowers to.

Importing this package registers every op; each submodule holds one family.
"""

from zenith.dialects.zt import constant, elementwise, linalg, shape  # noqa: F401

"""The ``zt`` (Zenith tensor) dialect: the core ops every frontend lowers to.

Importing this package registers every op; each submodule holds one family and
is imported here automatically.
"""

import importlib
import pkgutil

for _mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_mod}")

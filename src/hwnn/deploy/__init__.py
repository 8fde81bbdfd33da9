"""The deployment engine: quantized torch models compiled to torch-free plans on hwnn's
native kernels (``compiler.py`` for the rules, ``steps.py`` for what runs).

    plan = hwnn.deploy(quantized_model)      # or hwnn.deploy.deploy(...)
    logits = plan.run(x)                     # NumPy float32 in and out
    classes = plan.predict(x)

The module itself is callable, so ``hwnn.deploy(model)`` works once ``hwnn.deploy`` is
imported, while ``hwnn.deploy.Plan`` and friends stay reachable as attributes.
"""

from __future__ import annotations

import sys
import types

from hwnn.deploy.plan import SUPPORTED, Plan

__all__ = ["SUPPORTED", "Plan", "deploy"]


def deploy(model, fuse: bool = True) -> Plan:
    """Compiles a (quantized) torch model into a ``Plan`` (see ``compiler.py``).

    torch is imported here, at compile time only: running, pickling and unpickling a Plan
    needs NumPy and hwnn's kernels alone."""
    from hwnn.deploy.compiler import deploy as compile_model

    return compile_model(model, fuse=fuse)


class _CallableModule(types.ModuleType):
    def __call__(self, model, *args, **kwargs) -> Plan:  # hwnn.deploy(model)
        return deploy(model, *args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

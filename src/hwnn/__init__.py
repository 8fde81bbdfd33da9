"""hwnn: what happens to my network on this hardware, at this precision?

The top-level names load lazily, so ``import hwnn`` stays light (no torch until needed):

- ``hwnn.quantize(model, method, data=...)``: a new model at reduced precision (hwnn.quant)
- ``hwnn.deploy(quantized_model)``: a torch-free inference plan on the native kernels
- ``hwnn.run_study(config)``: the whole flow, report and results.json (hwnn.study)
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hwnn")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

_LAZY = {"quantize": "hwnn.quant", "run_study": "hwnn.study"}

__all__ = ["__version__", "deploy", "quantize", "run_study"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    if name == "deploy":  # a callable module: hwnn.deploy(model)
        return import_module("hwnn.deploy")
    raise AttributeError(f"module 'hwnn' has no attribute {name!r}")

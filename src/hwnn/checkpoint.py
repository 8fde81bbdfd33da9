"""Saving and loading trained models without unpickling arbitrary objects.

A checkpoint holds only tensors and plain values: the model's name and constructor
arguments, and its ``state_dict``. Loading uses ``torch.load(weights_only=True)``, which
refuses any pickled class, then rebuilds the model from its arguments.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from hwnn import models
from hwnn.errors import DataError

FORMAT = "hwnn.checkpoint/1"


def save(path: str | Path, model: nn.Module, spec: dict) -> Path:
    """``spec`` holds the arguments of ``models.build`` (name, input_shape, classes, ...)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "spec": json.dumps(spec), "state_dict": model.state_dict()}
    torch.save(payload, path)
    return path


def load(path: str | Path) -> tuple[nn.Module, dict]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for corrupt or unsafe files
        raise DataError(
            f"{path}: not a readable hwnn checkpoint ({type(err).__name__}: {str(err)[:200]})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise DataError(f"{path}: not an hwnn checkpoint (expected format {FORMAT})")
    spec = json.loads(payload["spec"])
    spec["input_shape"] = tuple(spec["input_shape"])
    spec["hidden"] = tuple(spec.get("hidden", (128,)))
    model = models.build(**spec)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as err:
        raise DataError(f"{path}: weights do not fit the model it names: {err}") from None
    return model, spec

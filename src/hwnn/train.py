"""Training and evaluation, deterministic for a seed.

Minimises cross-entropy with Adam (Kingma & Ba 2015) or SGD with momentum 0.9. The seed
fixes initialisation (``models.build``) and the order of mini-batches (a private
``torch.Generator``), so two runs with one seed give the same weights on the CPU (a GPU's
kernels may sum in another order from run to run). Wall time of the training loop is the
deck's "training time" metric. ``TrainConfig.device`` trains on a CUDA GPU ("cuda", or
"auto" when torch sees one); the model comes back to the CPU when training ends, where hwnn
quantizes, deploys and measures it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from hwnn import system
from hwnn.config import TrainConfig
from hwnn.data import Dataset
from hwnn.errors import ConfigError
from hwnn.results import TrainResult

# progress(epoch_done, epochs_total, loss)
Progress = Callable[[int, int, float], None]


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
    return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)


@contextmanager
def torch_threads(n: int | None = None) -> Iterator[None]:
    """Runs torch with ``n`` threads (default HWNN_THREADS, else 1), then restores the count.

    Small networks train fastest on one thread, and one thread keeps training time
    comparable on a shared machine.
    """
    old = torch.get_num_threads()
    torch.set_num_threads(n or system.threads())
    try:
        yield
    finally:
        torch.set_num_threads(old)


def resolve_device(name: str) -> torch.device:
    """"cpu", "cuda" (an error without a GPU) or "auto" (cuda when torch sees a GPU)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "device='cuda' needs a CUDA GPU visible to torch (torch.cuda.is_available() is "
            "False); train with --device cpu, or --device auto to use a GPU only when present"
        )
    return torch.device(name)


def _device_of(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def predict(model: nn.Module, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Class predictions (argmax of the logits) for a NumPy batch, on the model's device."""
    model.eval()
    dev = _device_of(model)
    out = []
    for start in range(0, len(x), batch_size):
        xb = torch.from_numpy(np.ascontiguousarray(x[start : start + batch_size])).to(dev)
        out.append(model(xb).argmax(dim=1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy in [0, 1]."""
    return float((predict(model, x) == y).mean()) if len(y) else float("nan")


def _train_epoch(model, x, y, order, optimizer, loss_fn, batch_size, step_hook) -> float:
    """One pass over the shuffled training set; returns the mean training loss."""
    model.train()
    total = 0.0
    for i in range(0, len(y), batch_size):
        idx = order[i : i + batch_size]
        optimizer.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
        if step_hook is not None:
            step_hook(model)
        total += loss.item() * len(idx)
    return total / len(y)


def fit(
    model: nn.Module,
    data: Dataset,
    config: TrainConfig,
    progress: Progress | None = None,
    step_hook: Callable[[nn.Module], None] | None = None,
) -> TrainResult:
    """Trains ``model`` in place and returns its learning curve and training time.

    ``train_time_s`` counts the optimisation loop only, not the per-epoch evaluation.
    ``step_hook`` runs after every optimizer step (quantizers use it to clip shadow weights).
    """
    dev = resolve_device(config.device)
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    losses, accuracies = [], []
    train_time = 0.0
    try:
        x, y = torch.from_numpy(data.x_train).to(dev), torch.from_numpy(data.y_train).to(dev)
        model.to(dev)  # before the optimizer is made: it holds the parameters it steps
        optimizer = make_optimizer(model, config)
        loss_fn = nn.CrossEntropyLoss()
        with torch_threads():
            for epoch in range(config.epochs):
                start = time.perf_counter()
                order = torch.randperm(len(y), generator=gen).to(dev)
                losses.append(_train_epoch(model, x, y, order, optimizer, loss_fn,
                                           config.batch_size, step_hook))  # fmt: skip
                if dev.type == "cuda":
                    torch.cuda.synchronize(dev)  # the epoch's kernels have all finished
                train_time += time.perf_counter() - start
                accuracies.append(evaluate(model, data.x_test, data.y_test))
                if progress is not None:
                    progress(epoch + 1, config.epochs, losses[-1])
            train_accuracy = evaluate(model, data.x_train, data.y_train)
    finally:
        model.to("cpu")
    return TrainResult(
        accuracy=accuracies[-1],
        train_accuracy=train_accuracy,
        train_time_s=train_time,
        epochs=config.epochs,
        loss_per_epoch=losses,
        accuracy_per_epoch=accuracies,
        optimizer=config.optimizer,
        seed=config.seed,
        device=_device_name(dev),
    )


def _device_name(dev: torch.device) -> str:
    return f"cuda ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else "cpu"

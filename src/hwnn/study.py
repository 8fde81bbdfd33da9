"""The whole flow in one call: ``run_study(config)``, which the CLI and README use.

A study is a list of steps. Each step reads and extends a ``StudyContext`` and returns
result ``Section``s; the report and results.json render those sections and nothing else,
so a new capability (precision table, kernels, hardware estimates) is one more step.
After every step the partial results are written out, and a later step that fails is
recorded in the ``errors`` section instead of losing what was already computed.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from torch import nn

from hwnn import __version__, checkpoint, models, report, system, throughput
from hwnn import data as datasets
from hwnn.config import StudyConfig
from hwnn.data import Dataset
from hwnn.errors import ConfigError, HwnnError
from hwnn.report import charts
from hwnn.results import ModelInfo, Section, StudyResult, TrainResult
from hwnn.train import fit

# progress(description, completed, total)
Progress = Callable[[str, int, int], None]


@dataclass
class StudyContext:
    config: StudyConfig
    progress: Progress
    data: Dataset | None = None
    model: nn.Module | None = None
    model_spec: dict = field(default_factory=dict)
    fp32: TrainResult | None = None
    # later steps share what they build here: quantized models, workloads, ...
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StudyError:
    step: str
    error: str


def _silent(description: str, completed: int, total: int) -> None:
    pass


def step_system(ctx: StudyContext) -> list[Section]:
    return [Section("system", "Machine", system.collect(), "Where these figures were measured.")]


def step_data(ctx: StudyContext) -> list[Section]:
    ctx.data = datasets.load(ctx.config.data)
    return [Section("dataset", "Data set", ctx.data.info())]


def step_fp32(ctx: StudyContext) -> list[Section]:
    cfg, data = ctx.config.train, ctx.data
    ctx.model_spec = {
        "name": cfg.model,
        "input_shape": list(data.input_shape),
        "classes": data.classes,
        "seed": cfg.seed,
        "hidden": list(cfg.hidden),
    }
    ctx.model = models.build(cfg.model, data.input_shape, data.classes, cfg.seed, cfg.hidden)
    ctx.fp32 = fit(
        ctx.model, data, cfg, progress=lambda e, n, _loss: ctx.progress("training fp32", e, n)
    )
    checkpoint.save(ctx.config.out / "fp32.pt", ctx.model, ctx.model_spec)
    info = ModelInfo(
        name=cfg.model,
        parameters=models.parameter_count(ctx.model),
        layers=models.layer_names(ctx.model),
        fp32_bytes=4 * models.parameter_count(ctx.model),
    )
    return [
        Section("model", "Model", info),
        Section(
            "fp32",
            "fp32 training",
            ctx.fp32,
            "Accuracy on the held-out test split; training time counts the optimisation loop.",
            [charts.learning_curve(ctx.fp32)],
        ),
    ]


def step_throughput(ctx: StudyContext) -> list[Section]:
    ctx.progress("measuring throughput", 0, 1)
    points = throughput.measure_torch(
        ctx.model, ctx.data.x_test, ctx.config.batches, threads=system.threads()
    )
    ctx.progress("measuring throughput", 1, 1)
    return [
        Section(
            "throughput",
            "Predictions per second (CPU, fp32 torch)",
            points,
            "Median of repeated forward passes after a warm-up.",
            [charts.throughput_chart(points)],
        )
    ]


def step_precision(ctx: StudyContext) -> list[Section]:
    from hwnn.quant.study_section import precision_section

    return precision_section(
        ctx.data,
        ctx.config.train.model,
        ctx.config.train,
        ctx.model,
        ctx.fp32.accuracy,
        progress=ctx.progress,
        models_out=ctx.extras.setdefault("quantized", {}),
    )


# The precisions the hardware step compares: the float baselines, the deck's methods that
# change the arithmetic (fixed point, ternary, binary, log2, codebook) and int8.
HARDWARE_PRECISIONS = (
    "fp32",
    "fp16",
    "int8",
    "fixed",
    "twn",
    "bwn",
    "bnn",
    "xnor",
    "lognet",
    "weight_sharing",
)


def _workloads(ctx: StudyContext, batch: int = 1) -> dict:
    from hwnn.lower import lower

    shape = ctx.data.input_shape
    models = {"fp32": ctx.model, **ctx.extras.get("quantized", {})}
    return {
        name: lower(models[name], shape, batch=batch, name=f"{ctx.config.train.model}-{name}")
        for name in HARDWARE_PRECISIONS
        if name in models
    }


def step_hardware(ctx: StudyContext) -> list[Section]:
    from hwnn.hw.hardware_section import hardware_section

    ctx.progress("hardware estimates", 0, 1)
    ctx.extras["workloads"] = _workloads(ctx)
    sections = hardware_section(ctx.extras["workloads"])
    ctx.progress("hardware estimates", 1, 1)
    return sections


def step_tpu(ctx: StudyContext) -> list[Section]:
    from hwnn.hw.presets_tpu import tpu_section

    # The TPU's matrix unit multiplies 8-bit integers: put the int8 model on it when there is one.
    workloads = ctx.extras.get("workloads") or _workloads(ctx)
    return [tpu_section(workloads.get("int8", workloads["fp32"]))]


# Batch sizes of the deployment step: the deck's batching table, on this CPU.
DEPLOY_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def step_deploy(ctx: StudyContext) -> list[Section]:
    from hwnn.deploy.bench import section_from_models
    from hwnn.deploy.rivals import RIVALS

    # The engines users would ship instead (ONNX Runtime, torch.ao) run beside hwnn's.
    section = section_from_models(
        ctx.model, ctx.extras.get("quantized", {}), ctx.data.x_test, ctx.data.y_test,
        DEPLOY_BATCHES, system.threads(), ctx.config.train.model, ctx.data.name,
        progress=lambda what, i, n: ctx.progress("deployed engines", i, n), min_time_s=0.1,
        rivals=RIVALS, calibration=ctx.data.x_train[:512],
    )  # fmt: skip
    return [section]


def step_ladder(ctx: StudyContext) -> list[Section]:
    from hwnn.ladder import ladder_section, run_ladder

    # Small sizes keep the study short; `hwnn bench ladder` runs the full ladder to 2048^3.
    rows = run_ladder(
        sizes=(256, 512), threads=(1,), repeats=3,
        progress=lambda i, n, _what: ctx.progress("optimization ladder", i, n),
    )  # fmt: skip
    return [ladder_section(rows)]


# (name, step, required): a required step's failure ends the study; others are recorded.
STEPS: list[tuple[str, Callable[[StudyContext], list[Section]], bool]] = [
    ("system", step_system, False),
    ("data", step_data, True),
    ("fp32", step_fp32, True),
    ("throughput", step_throughput, False),
    ("precision", step_precision, False),
    ("hardware", step_hardware, False),
    ("tpu", step_tpu, False),
    ("deploy", step_deploy, False),
    ("ladder", step_ladder, False),
]


def run_study(config: StudyConfig | None = None, progress: Progress | None = None) -> StudyResult:
    """Runs every step, writing report.html and results.json into ``config.out``."""
    config = config or StudyConfig()
    config.out.mkdir(parents=True, exist_ok=True)
    ctx = StudyContext(config, progress or _silent)
    result = StudyResult(
        hwnn_version=__version__,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        config=asdict(config),
        sections=[],
    )
    errors: list[StudyError] = []
    _check_skip(config.skip)
    for name, step, required in STEPS:
        if name in config.skip:
            continue
        try:
            result.sections.extend(step(ctx))
        except Exception as err:
            if required:
                report.write(result, config.out)
                raise
            # An optional step's failure, even a bug, must not cost the steps already done.
            text = str(err) if isinstance(err, HwnnError) else f"{type(err).__name__}: {err}"
            errors.append(StudyError(name, text))
        if errors:
            _set_errors(result, errors)
        report.write(result, config.out)
    return result


def _check_skip(skip: tuple[str, ...]) -> None:
    optional = [name for name, _, required in STEPS if not required]
    unknown = [s for s in skip if s not in optional]
    if unknown:
        raise ConfigError(
            f"cannot skip {', '.join(unknown)}: optional study steps are {', '.join(optional)}"
        )


def _set_errors(result: StudyResult, errors: list[StudyError]) -> None:
    result.sections = [s for s in result.sections if s.key != "errors"]
    result.sections.append(Section("errors", "Steps that failed", list(errors)))

"""Pick and load the denoiser for a checkpoint folder, with the checks a user needs first.

The family comes from the folder's config.json: diffill's own checkpoints (diffill.json) load
as the shipped `MaskedLMDenoiser`; `diffusion_gemma` as DiffusionGemma; Dream, DiffuCoder and
DreamOn (model_type "Dream", or an auto_map naming Dream classes) as Dream, on transformers'
Qwen2 code unless the user trusts the checkpoint's own; LLaDA as LLaDA (its code ships with the
checkpoint); any other masked LM that `AutoModelForMaskedLM` knows as a generic masked LM.

diffill's own checkpoints run on the numpy forward on the CPU: loading them imports neither
torch nor transformers (the other families do, when they load).

Before any weight is read: the device must exist, the dtype and quantization must be known,
the weights must be safetensors (pickle files can run code), model code shipped with the
checkpoint runs only when the user opts in (`trust_remote_code`), and the estimated memory
(from the safetensors headers) must fit the device. Every refusal is a `CheckpointError`
whose message says what to do.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .denoiser import Denoiser, MaskedLMDenoiser
from .devices import pick_device, pick_dtype
from .errors import CheckpointError

if TYPE_CHECKING:  # torch is imported when a torch backend is loaded, not for the default model
    import torch

FAMILIES = ("diffill", "masked_lm", "dream", "llada", "diffusion_gemma")
DEVICES = ("auto", "cpu", "cuda", "mps")  # cuda:N too
DTYPES = ("auto", "fp32", "bf16", "fp16")
QUANTIZATIONS = ("4bit", "8bit")
REMOTE_CODE_FAMILIES = {"dream": "Dream / DiffuCoder / DreamOn", "llada": "LLaDA"}
GB = 1000**3  # decimal, as model hubs list sizes
WORKING_SHARE = 0.2  # activations, logits and caches on top of the weights
WORKING_FLOOR = 256 * 1024**2
FLOAT_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1}
INT_BYTES = {"I64": 8, "I32": 4, "U32": 4, "I16": 2, "U16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def read_config(folder: Path) -> dict[str, Any]:
    from .backends.common import read_json

    path = folder / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{folder} has no config.json: is it a Hugging Face checkpoint folder?")
    return read_json(path)


def detect_family(folder: Path) -> str:
    """One of FAMILIES, from the folder's files and config.json."""
    if (folder / "diffill.json").is_file():
        return "diffill"
    config = read_config(folder)
    model_type = str(config.get("model_type", "")).lower()
    auto_map = " ".join(str(v) for v in (config.get("auto_map") or {}).values()).lower()
    archs = " ".join(str(a) for a in (config.get("architectures") or [])).lower()
    if model_type == "diffusion_gemma" or "diffusiongemma" in archs:
        return "diffusion_gemma"
    if model_type == "dream" or "dream" in auto_map or "dream" in archs:
        return "dream"
    if model_type == "llada" or "llada" in auto_map or "llada" in archs:
        return "llada"
    from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING_NAMES

    if model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES or archs.endswith("formaskedlm"):
        return "masked_lm"
    raise CheckpointError(
        f"{folder}: model_type {model_type or '(none)'!r} is not a family diffill can drive. "
        "Supported: diffill checkpoints, DiffusionGemma, Dream / DiffuCoder / DreamOn, LLaDA, and "
        "masked LMs (ModernBERT, CodeBERT, ...). Autoregressive LMs cannot fill a hole.")


def resolve_device(device: str) -> str:
    """'auto' made concrete; an explicit device must exist on this machine."""
    name = (device or "auto").strip().lower()
    if name == "auto":
        return pick_device("auto")
    kind, _, index = name.partition(":")
    if kind not in DEVICES[1:] or (index and (kind != "cuda" or not index.isdigit())):
        raise CheckpointError(f"--device must be auto, cpu, cuda, cuda:N or mps, not {device!r}")
    if kind == "cpu":
        return name
    import torch

    if kind == "cuda":
        if not torch.cuda.is_available():
            build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "no CUDA"
            raise CheckpointError(
                f"--device {name}: torch sees no CUDA GPU (torch {torch.__version__}, built with "
                f"{build}). Install a CUDA build of torch, check the driver, or use --device cpu.")
        if index and int(index) >= torch.cuda.device_count():
            raise CheckpointError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s)")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise CheckpointError("--device mps: Metal (MPS) is not available on this machine; use --device cpu")
    return name


def check_dtype(dtype: str) -> None:
    if dtype not in DTYPES:
        raise CheckpointError(f"--dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")


def resolve_dtype(device: str, dtype: str) -> torch.dtype:
    check_dtype(dtype)
    return pick_dtype(device.split(":")[0], dtype)


def normalise_quantization(quantization: str | None) -> str | None:
    if quantization in (None, "", "none"):
        return None
    if quantization not in QUANTIZATIONS:
        raise CheckpointError(f"--quantization must be none, 4bit or 8bit, not {quantization!r}")
    return quantization


def quantization_config(quantization: str | None, dtype: torch.dtype) -> Any:
    """A transformers BitsAndBytesConfig, only when the user's environment has bitsandbytes."""
    if quantization is None:
        return None
    if importlib.util.find_spec("bitsandbytes") is None:
        raise CheckpointError(
            f"--quantization {quantization} loads weights through bitsandbytes, which is not "
            "installed (diffill does not depend on it): `pip install bitsandbytes` (CUDA GPUs), "
            "or drop --quantization.")
    from transformers import BitsAndBytesConfig

    if quantization == "4bit":
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype)
    return BitsAndBytesConfig(load_in_8bit=True)


def weight_files(folder: Path) -> list[Path]:
    """The safetensors files; refuses folders whose weights exist only as pickles."""
    files = sorted(folder.glob("*.safetensors"))
    if files:
        return files
    pickles = [p.name for ext in ("*.bin", "*.pt", "*.pth", "*.ckpt") for p in folder.glob(ext)]
    if pickles:
        raise CheckpointError(
            f"{folder} holds only pickle weights ({', '.join(sorted(pickles)[:3])}); diffill loads "
            "safetensors only, because loading a pickle can run code. Download the safetensors "
            "files of the checkpoint, or convert them where you trust the file.")
    raise CheckpointError(f"{folder} has no *.safetensors weights")


def safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of a safetensors file (tensor names, dtypes, shapes); reads no weights."""
    try:
        with path.open("rb") as fh:
            (size,) = struct.unpack("<Q", fh.read(8))
            if size > 100 * 1024**2:
                raise ValueError(f"header of {size} bytes")
            header = json.loads(fh.read(size))
    except (OSError, ValueError, struct.error) as exc:
        raise CheckpointError(f"{path} is not a readable safetensors file: {exc}") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} has a malformed safetensors header")
    header.pop("__metadata__", None)
    return header


def estimate_weight_bytes(folder: Path, dtype: torch.dtype, quantization: str | None = None) -> int:
    """Bytes the weights take once loaded in dtype (or quantized), from the headers alone."""
    float_bytes = dtype.itemsize
    quant_bytes = {"4bit": 0.5, "8bit": 1.0}.get(quantization or "", 0.0)
    total = 0.0
    for path in weight_files(folder):
        for name, info in safetensors_header(path).items():
            shape = info.get("shape", [])
            kind = info.get("dtype", "F32")
            numel = math.prod(shape) if shape else 1
            if kind in FLOAT_BYTES:
                # bitsandbytes replaces Linear weights; embeddings, norms and the head stay.
                linear = len(shape) == 2 and not any(k in name for k in ("embed", "lm_head", "wte"))
                total += numel * (quant_bytes if quant_bytes and linear else float_bytes)
            else:
                total += numel * INT_BYTES.get(kind, 4)
    return int(total)


def available_memory(device: str) -> int | None:
    """Free bytes on device; None when it cannot be told."""
    kind, _, index = device.partition(":")
    try:
        if kind in ("cuda", "mps"):
            import torch
        if kind == "cuda":
            free, _total = torch.cuda.mem_get_info(int(index or 0))
            return int(free)
        if kind == "mps":
            return int(torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory())
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, RuntimeError, AttributeError):
        return None


def check_memory(folder: Path, device: str, dtype: torch.dtype, quantization: str | None) -> int:
    """Refuse, before loading, a checkpoint that cannot fit; returns the bytes it needs."""
    weights = estimate_weight_bytes(folder, dtype, quantization)
    need = int(weights * (1 + WORKING_SHARE)) + WORKING_FLOOR
    if os.environ.get("DIFFILL_SKIP_MEMORY_CHECK"):
        return need
    free = available_memory(device)
    if free is not None and need > free:
        how = quantization or str(dtype).removeprefix("torch.")
        raise CheckpointError(
            f"{folder.name} needs about {need / GB:.1f} GB on {device} ({weights / GB:.1f} GB of "
            f"weights in {how} plus working memory) but {free / GB:.1f} GB is free. Try --dtype bf16 "
            "or fp16, --quantization 4bit (needs bitsandbytes), a smaller checkpoint or another "
            "--device; set DIFFILL_SKIP_MEMORY_CHECK=1 to try anyway.")
    return need


def check_remote_code(folder: Path, family: str, trust_remote_code: bool) -> None:
    """Families whose model code ships with the weights run it only on the user's word."""
    label = REMOTE_CODE_FAMILIES[family]
    auto_map = read_config(folder).get("auto_map") or {}
    modules = sorted({str(v).split("--")[-1].rsplit(".", 1)[0] + ".py" for v in auto_map.values()})
    if not trust_remote_code:
        files = ", ".join(modules) or "its modeling_*.py"
        raise CheckpointError(
            f"{folder} is a {label} checkpoint: its model code ({files}) ships with the weights "
            "and runs on your machine when loaded. diffill runs it only if you opt in: add "
            "--trust-remote-code to the diffill command, or set \"trustRemoteCode\": true in the "
            "editor's diffill settings. Read those files first.")
    missing = [m for m in modules if not (folder / m).is_file()]
    if missing or not modules:
        raise CheckpointError(
            f"{folder}: config.json's auto_map needs {', '.join(missing) or 'model code'} in the "
            "folder; diffill never downloads code. Download the whole checkpoint repository.")


def load_denoiser(
    path: Path | None,
    device: str = "auto",
    dtype: str = "auto",
    trust_remote_code: bool = False,
    quantization: str | None = None,
) -> Denoiser:
    """The denoiser for a checkpoint folder (None: the shipped default model)."""
    check_dtype(dtype)
    if (device or "auto").strip().lower() != "auto":
        device = resolve_device(device)  # a named device must exist (the CPU asks no torch)
    quantization = normalise_quantization(quantization)
    folder = None if path is None else Path(path).expanduser()
    if folder is not None and not folder.is_dir():
        raise CheckpointError(
            f"checkpoint folder {folder} does not exist. diffill never downloads weights: fetch "
            "them first, e.g. `hf download <repo> --local-dir <folder>` (see docs/BACKENDS.md).")
    if folder is None or detect_family(folder) == "diffill":
        if quantization:
            raise CheckpointError("--quantization applies to Hugging Face checkpoints, not diffill's own")
        # "auto" stays "auto": the numpy forward takes it as the CPU without asking torch.
        return MaskedLMDenoiser(folder, device, dtype)
    device = resolve_device(device)
    torch_dtype = resolve_dtype(device, dtype)
    family = detect_family(folder)
    weight_files(folder)
    # LLaDA has no transformers class; Dream runs on transformers' Qwen2 unless the user asks
    # for the checkpoint's own code.
    if family == "llada" or (family == "dream" and trust_remote_code):
        check_remote_code(folder, family, trust_remote_code)
    quant = quantization_config(quantization, torch_dtype)
    check_memory(folder, device, torch_dtype, quantization)
    if family == "diffusion_gemma":
        from .backends.diffusion_gemma import DiffusionGemmaDenoiser

        return DiffusionGemmaDenoiser.from_folder(folder, device, torch_dtype, quant)
    if family == "dream":
        from .backends.dream import DreamDenoiser

        return DreamDenoiser.from_folder(folder, device, torch_dtype, trust_remote_code, quant)
    if family == "llada":
        from .backends.llada import LLaDADenoiser

        return LLaDADenoiser.from_folder(folder, device, torch_dtype, trust_remote_code, quant)
    from .backends.masked_lm import HFMaskedLMDenoiser

    return HFMaskedLMDenoiser.from_folder(folder, device, torch_dtype, quant)

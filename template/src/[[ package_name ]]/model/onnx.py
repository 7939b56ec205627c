"""PyTorch model -> ONNX, as the export stage and the benchmark's model comparison write it."""

from pathlib import Path

import torch

INPUT_NAME, OUTPUT_NAME = "image", "logits"


def export_onnx(model: torch.nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    """Write `model` as one self-contained ONNX file at `path` (torch.export-based exporter).

    `example` is a float32 (N, C, H, W) input with N >= 2 (the batch axis is exported dynamic,
    1..4096); the graph's input is named INPUT_NAME and its float32 (N, K) logits OUTPUT_NAME.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    batch = torch.export.Dim("batch", min=1, max=4096)
    torch.onnx.export(
        model,
        (example,),
        str(path),
        dynamo=True,
        external_data=False,  # one self-contained file, so one checksum covers the model
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_shapes=({0: batch},),
        opset_version=opset,
    )

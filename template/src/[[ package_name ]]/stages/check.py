"""Stage `check`: the product's requirement budgets against what the pipeline measured.

The budgets are params.yaml's `requirements:` section. Each key says its direction: `min_<measure>`
is the lowest value allowed, `max_<measure>` the highest. The measures are the served model's
(the INT8 model that `make serve` and the release ship): test accuracy, INT8 accuracy drop, INT8
top-1 agreement with FP32, batch-1 latency, throughput and size, read from the metrics files the
pipeline already writes. The INT8 accuracy drop is judged as the quantize stage judges it
(budgets.int8_gate): against max(max_int8_accuracy_drop, 1 / n_test), n_test from
metrics/quantize.json, so check never fails what quantize kept for the same reason. The stage
writes every budget with its measured and allowed value to metrics/check.json, then fails
`dvc repro` naming each broken one. The PR model review shows the same budgets against the base
branch's figures (tools/review/report.py); both read the budgets through budgets.py.
"""

import sys
from dataclasses import asdict

from ..budgets import RequirementError, evaluate_budgets
from ..params import load_params, write_json
from ..paths import CHECK_METRICS


def main() -> None:
    try:
        results = evaluate_budgets(load_params().get("requirements") or {})
    except RequirementError as error:
        sys.exit(f"check: {error}")
    write_json(CHECK_METRICS, {r.name: {**asdict(r), "passed": r.passed} for r in results})
    for result in results:
        print(f"check: {'pass' if result.passed else 'FAIL'}  {result.describe()}")
    broken = [result for result in results if not result.passed]
    if broken:
        lines = "\n".join(f"  - {result.describe()}" for result in broken)
        sys.exit(f"check: {len(broken)} of {len(results)} requirement budgets broken:\n{lines}")


if __name__ == "__main__":
    main()

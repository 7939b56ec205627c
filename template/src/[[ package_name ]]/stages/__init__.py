"""The pipeline's stages: exactly one module per `dvc.yaml` stage, named as the stage, run as
`python -m <package>.stages.<name>` (dvc.yaml is the one list of stages and their order).

A stage reads params.yaml and its inputs, calls the libraries beside this folder (data/, model/,
training.py, evaluation.py, quantization.py, runtime/, ...) and writes its outputs; it never
imports another stage, so editing one stage reruns only that stage and those after it.
"""

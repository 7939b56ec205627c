"""Tools run by people and CI, not by `dvc repro`: the release bundle (`release`), the PR model
review (`review`), the serving load test and benchmark (`loadtest`) and the training memory
benchmark (`bench_memory`). Each runs as `python -m <package>.tools.<name>`; see the Makefile.
"""

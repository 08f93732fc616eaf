"""The fuzzing engine: program generation, mutation, the checks every case must pass, and a driver.

tests/test_fuzz.py runs a fixed, deterministic sample of it in CI;
benchmarks/soak.py runs as many cases as it is asked for.
"""

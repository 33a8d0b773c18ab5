"""A sub-processor simulator: HeiHallo (Anders Heim), org. no. 992 797 010, on loopback (R12/R13).

A small real HTTP server standing in for the platform's sub-processor. It receives the privacy
orchestrator's signed requests (erasure, rectification, access), verifies them with the
off-the-shelf `standardwebhooks` library as a real sub-processor would, acts on the fake data it
holds about subjects, answers 202 and then confirms by a signed webhook callback. Modes make it
slow, failing or dishonest on purpose. Run it with ``python -m subprocessor_sim`` and
``PYTHONPATH=deploy`` (deploy/local/subprocessor_sim.sh does); docs/runbook.md describes it.
"""

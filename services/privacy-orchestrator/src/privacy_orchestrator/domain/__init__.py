"""The orchestrator's domain: completion records, canonical form, hash chain, signatures."""

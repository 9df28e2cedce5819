"""Real-parts test harness: a CNCF distribution registry, a TLS CA, a loopback HTTP mirror, the ORAS CLI.

Used by the pytest suites and by the demo (scripts/demo.sh); nothing here is shipped in the collection.
"""

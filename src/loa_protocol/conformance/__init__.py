"""``loa protocol conformance``: check a device against docs/protocol.md by playing the server to it.

The runner starts its own broker (Mosquitto with the protocol's ACL), HTTP endpoint and signing key
(:mod:`.harness`), enrols the device under test with the commands it is given, then runs the rules of :mod:`.rules`
in order and prints a pass/fail table with the section of the doc each rule checks. It never imports the Loa
server: a vendor runs it against a device built from the doc alone.

    loa protocol conformance \\
        --enrol 'loa agent enrol --server {server} --code {code} --state-dir {state} --allow-http' \\
        --run 'loa agent run --state-dir {state} --player null --heartbeat 5'
"""

"""Recordings in the forms the CloudEvents tools use: the conformance tool's YAML
(`conformance`) and JSON lines (`jsonlines`), read and written (`files`), replayed as
recorded (`records`), and compared (`diff`)."""

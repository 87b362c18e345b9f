"""The CloudEvents rules: codes, attribute checks and syntaxes. No I/O."""

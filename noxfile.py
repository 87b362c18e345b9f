"""The test matrix: the whole suite against each CloudEvents SDK generation.

`make test-matrix` runs every session; `nox -s "tests(cloudevents='1.11.1')"` one of them.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True

#: 1.11 and 1.13 are the ends of the 1.x line the plugin supports (functions-framework
#: pins 1.11-1.12); 2.2 is the current 2.x.
SDK_VERSIONS = ["1.11.1", "1.13.0", "2.2.0"]


@nox.session
@nox.parametrize("cloudevents", SDK_VERSIONS)
def tests(session: nox.Session, cloudevents: str) -> None:
    """The whole suite (tests and examples) with one version of the SDK installed."""
    session.install("-q", "-e", ".[test]", f"cloudevents=={cloudevents}")
    if cloudevents == SDK_VERSIONS[0]:  # functions-framework pins cloudevents <= 1.12
        session.install("-q", "functions-framework>=3.5", f"cloudevents=={cloudevents}")
    # the parity suite's transport and endpoint combinations, and the subprocess-heavy tests
    # marked `once` (seeds across runs, 50 serve cycles, xdist runs, floods), do not depend
    # on the SDK: `make test` runs them all, the matrix a representative few and none of those
    session.run(
        "python",
        "-m",
        "pytest",
        "-n",
        "2",
        "-q",
        "-m",
        "not once",
        *session.posargs,
        env={"CE_PARITY": "short"},
    )

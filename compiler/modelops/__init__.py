"""modelops: compile model specs into Kubernetes manifests for Seldon and KServe."""

try:  # written by setuptools-scm when the package is built or installed, from the git tag
    from modelops._version import __version__
except ImportError:  # a source tree that was never built or installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

"""modelops: compile model specs into Kubernetes manifests for Seldon."""

__version__ = "0.3.0"

"""modelops: compile model specs into Kubernetes manifests for Seldon."""

__version__ = "0.2.0"

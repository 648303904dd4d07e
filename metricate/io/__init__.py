"""Reading clusterings and writing outputs."""

from metricate.io.load import Clustering, load_clustering
from metricate.io.write import atomic_write

__all__ = ["Clustering", "atomic_write", "load_clustering"]

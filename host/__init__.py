"""posterm subpackage."""

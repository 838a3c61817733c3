"""posterm subpackage (printer)."""

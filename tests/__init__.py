"""digitdraw's tests: a package, so `tests.*` never resolves to a `tests` that an installed wheel ships."""

"""One router module per resource; every route is declared in `callqa.api.permissions`."""

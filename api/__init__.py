"""REST API (FastAPI) over the quality database: `create_app()` in `callqa.api.app`."""

"""Framework glue (Starlette/FastAPI, Django). The only place that may import a framework."""

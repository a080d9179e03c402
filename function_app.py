"""The Function App: registers each concern's blueprint and nothing else."""

import azure.functions as func

from functions import (
    analyze,
    archive,
    dashboard,
    health,
    ingest,
    query,
    reports,
    retention,
    shippers,
    store,
    stream,
)

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

for blueprint in (
    analyze.bp,
    reports.bp,
    retention.bp,
    ingest.bp,
    store.bp,
    archive.bp,
    health.bp,
    dashboard.bp,
    stream.bp,
    query.bp,
    shippers.bp,
):
    app.register_functions(blueprint)

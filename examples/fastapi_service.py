"""A small FastAPI service whose request logs and trading logs flow to the pipeline.

TRADINGLOG_API_KEY=dev-ingest-key uvicorn examples.fastapi_service:app --port 8000
curl -H 'X-Request-ID: demo-1' -H 'X-Signal-Id: sig-demo-1' \
     localhost:8000/orders -d '{"symbol":"ETHUSDT","qty":1}'

The middleware takes the calling service's X-Signal-Id on, so the order's records join the
trade that signal started (GET /api/trades/sig-demo-1).
"""

from fastapi import FastAPI
from pydantic import BaseModel
from tradinglog import configure, get_logger
from tradinglog.integrations.starlette import RequestLoggingMiddleware

configure(service="api-gateway")  # TRADINGLOG_URL, default http://localhost:7071
log = get_logger("gateway.orders")

app = FastAPI()
app.add_middleware(RequestLoggingMiddleware, service="api-gateway")


class Order(BaseModel):
    symbol: str
    qty: float


@app.post("/orders")
async def place_order(order: Order) -> dict[str, str]:
    log.trade_executed(
        "Order accepted", symbol=order.symbol, side="buy", quantity=order.qty, price=0.0
    )
    return {"status": "accepted"}

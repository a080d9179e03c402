"""A plain trading bot script logging into the pipeline.

TRADINGLOG_API_KEY=dev-ingest-key python examples/plain_bot.py
"""

import random
import time
from concurrent.futures import ThreadPoolExecutor

from tradinglog import carry, configure, get_logger, log_context, trade_context

configure(service="trading-engine")  # TRADINGLOG_URL, default http://localhost:7071
log = get_logger("engine.loop")


def place_order(price: float) -> None:
    # Runs on an executor thread: carry() gave it the trade's signal_id.
    log.trade_executed("Bought", symbol="BTCUSDT", side="buy", quantity=0.01, price=price)


def main() -> None:
    orders = ThreadPoolExecutor(max_workers=2)
    for tick in range(20):
        # One trade per tick: every record inside carries the same extra_data.signal_id.
        with log_context(request_id=f"tick-{tick}"), trade_context():
            price = round(97_000 + random.uniform(-500, 500), 2)
            log.signal_received("Momentum signal", symbol="BTCUSDT", signal="buy", price=price)
            log.ai_decision("Model agrees", decision="buy", confidence=round(random.random(), 2))
            orders.submit(carry(place_order), price).result()
            if tick % 7 == 6:
                try:
                    raise ConnectionError("Failed to connect to exchange")
                except ConnectionError:
                    log.exception("Order routing failed", exchange="binance")
        time.sleep(0.2)


if __name__ == "__main__":
    main()

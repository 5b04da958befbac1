"""The ``make dev`` webhook receiver: verifies each delivery and prints it.

It stands in for a CSM tool so a newcomer sees recommendations arrive. Signatures are checked
with the reference Standard Webhooks library; a delivery that fails verification gets a 401,
which the notifier logs and retries.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def create_receiver(secret: str) -> FastAPI:
    """An app answering ``POST /webhooks`` for deliveries signed with ``secret``."""
    webhook = Webhook(secret)
    app = FastAPI(title="ampm demo webhook receiver")

    @app.post("/webhooks")
    async def receive(request: Request) -> Response:
        body = await request.body()
        try:
            payload = webhook.verify(body, dict(request.headers))
        except WebhookVerificationError:
            print("webhook REFUSED: bad signature", flush=True)
            return Response(status_code=401)
        data = payload.get("data", {})
        print(
            f"webhook verified  {payload['type']:<24} {data.get('account_id', ''):<18} "
            f"{_summary(payload['type'], data)}",
            flush=True,
        )
        return Response(status_code=204)

    return app


def _summary(event_type: str, data: dict[str, Any]) -> object:
    """One line a newcomer can read: the value of a digest, the advice of a recommendation
    (its whole message when it quotes value), the signal or the health score otherwise."""
    if event_type == "value.digest":
        shown = [e["text"] for e in (*data.get("feel_good", ()), *data.get("to_date", ()))[:2]]
        return f"{data.get('period')}: " + "; ".join(shown)
    if event_type == "recommendation.created" and "value" in data.get("evidence", {}):
        return f"{data.get('title')}: {data.get('message')}"
    return data.get("title") or data.get("signal_type") or data.get("health", {}).get("score")


def main() -> int:
    secret = os.environ.get("AMPM_DEMO_WEBHOOK_SECRET")
    if not secret:
        print("AMPM_DEMO_WEBHOOK_SECRET is required", file=sys.stderr)
        return 2
    port = int(os.environ.get("AMPM_DEMO_RECEIVER_PORT", "8005"))
    uvicorn.run(create_receiver(secret), host="127.0.0.1", port=port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())

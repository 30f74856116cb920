import asyncio
from datetime import UTC, datetime
from decimal import Decimal
import pytest
from tradebot.domain.orders import OrderRequest, OrderType, Side, Bracket

pytestmark = pytest.mark.timeout(30)

async def test_smoke(alpaca_broker, alpaca_venue, fake_alpaca):
    b = alpaca_broker
    inst = await b.instrument("SPY")
    print(inst)
    print(await b.account())
    ev = b.events()
    print(await asyncio.wait_for(ev.__anext__(), 2))
    await alpaca_venue.set_last_price("SPY", Decimal("170.00"))
    req = OrderRequest("c1", "i1", "SPY", Side.BUY, Decimal("10"), OrderType.LIMIT, datetime.now(UTC), limit_price=Decimal("169.50"),
                       bracket=Bracket(stop_loss=Decimal("168"), take_profit=Decimal("172")))
    await b.submit(req)
    print(await asyncio.wait_for(ev.__anext__(), 2))
    print(await b.open_orders())
    await alpaca_venue.fill("c1")
    for _ in range(3):
        print(await asyncio.wait_for(ev.__anext__(), 2))
    await alpaca_venue.fill("c1-tp")
    for _ in range(2):
        print(await asyncio.wait_for(ev.__anext__(), 2))
    print(await b.positions())
    print(await b.fills_since(datetime(2000,1,1,tzinfo=UTC)))

from tradebot.domain.bars import Bar
async def test_bars(alpaca_broker, alpaca_venue, fake_alpaca):
    inst = await alpaca_broker.instrument("SPY")
    it = alpaca_broker.bars(inst, 60)
    t0 = datetime(2013,10,7,14,0,tzinfo=UTC)
    from datetime import timedelta
    await alpaca_venue.push_bar(Bar("SPY", t0, 1,2,0.5,1.5,100))
    print(await asyncio.wait_for(it.__anext__(), 5))
    await fake_alpaca.drop_streams()
    fake_alpaca.data_stream_down = True
    await alpaca_venue.push_bar(Bar("SPY", t0+timedelta(minutes=1), 1,2,0.5,1.5,100))
    await alpaca_venue.push_bar(Bar("SPY", t0+timedelta(minutes=2), 1,2,0.5,1.5,100))
    fake_alpaca.data_stream_down = False
    await alpaca_venue.push_bar(Bar("SPY", t0+timedelta(minutes=3), 1,2,0.5,1.5,100))
    for _ in range(3):
        print(await asyncio.wait_for(it.__anext__(), 5))

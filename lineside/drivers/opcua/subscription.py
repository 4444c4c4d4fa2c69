"""Subscriptions: monitored items created in batches, notifications decoded to Samples.

asyncua's high-level `Subscription` spawns one task per notification; at 10,000 items a
second that costs more than the decoding. The driver therefore talks to the session's
CreateSubscription/CreateMonitoredItems services directly and decodes each Publish
response in one pass, mapping client handles to signal keys.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from asyncua import ua

from lineside.drivers.opcua.errors import status_kind
from lineside.drivers.opcua.quality import quality_of, status_name
from lineside.drivers.opcua.settings import OpcuaDevice, OpcuaSignal
from lineside.drivers.opcua.values import bad, sample_from
from lineside.samples import Quality, Sample

log = logging.getLogger(__name__)

_TRIGGERS = {
    "status": ua.DataChangeTrigger.Status,
    "status_value": ua.DataChangeTrigger.StatusValue,
    "status_value_timestamp": ua.DataChangeTrigger.StatusValueTimestamp,
}


@dataclass
class Item:
    key: str
    spec: OpcuaSignal
    nodeid: ua.NodeId


def monitored_item_request(
    device: OpcuaDevice, item: Item, handle: int
) -> ua.MonitoredItemCreateRequest:
    spec = item.spec
    params = ua.MonitoringParameters()
    params.ClientHandle = handle
    params.SamplingInterval = float(
        spec.sampling_interval_ms if spec.sampling_interval_ms is not None
        else device.sampling_interval_ms
    )
    params.QueueSize = spec.queue_size or device.queue_size
    params.DiscardOldest = device.discard_oldest
    trigger = _TRIGGERS[device.data_change_trigger]
    if spec.deadband or trigger != ua.DataChangeTrigger.StatusValue:
        f = ua.DataChangeFilter()
        f.Trigger = trigger
        if spec.deadband:
            f.DeadbandType = (ua.DeadbandType.Absolute if spec.deadband_type == "absolute"
                              else ua.DeadbandType.Percent)
            f.DeadbandValue = float(spec.deadband)
        else:
            f.DeadbandType = ua.DeadbandType.None_
        params.Filter = f
    rv = ua.ReadValueId(NodeId=item.nodeid, AttributeId=ua.AttributeIds.Value)
    return ua.MonitoredItemCreateRequest(
        ItemToMonitor=rv, MonitoringMode=ua.MonitoringMode.Reporting, RequestedParameters=params
    )


class SubscriptionSet:
    """One subscription on one session, with its items; re-created from scratch each time."""

    def __init__(self, device: OpcuaDevice, emit: Callable[[Sequence[Sample]], None],
                 on_dead: Callable[[str, str], None],
                 clock: Callable[[], float] = time.time) -> None:
        self.device = device
        self._clock = clock  # the wall clock samples are stamped with
        self.emit = emit
        self.on_dead = on_dead
        stamp = device.timestamp or "source"
        self.use_source = stamp == "source"
        self.gather = stamp == "gather"  # arrival time instead of the server's stamps
        self.handles: dict[int, str] = {}
        self.subscription_id: int | None = None
        self.last_publish = time.monotonic()
        self.keepalive_s = device.keepalive_s
        self.notifications = 0
        self.refused: dict[str, str] = {}  # signal key -> status name

    async def create(self, session: object, items: list[Item], batch: int) -> list[Sample]:
        """Create the subscription and its items; BAD samples for items the server refused."""
        d = self.device
        interval_ms = d.interval_s * 1000
        keepalive_count = max(1, math.ceil(d.keepalive_s / d.interval_s))
        params = ua.CreateSubscriptionParameters(
            RequestedPublishingInterval=interval_ms,
            RequestedMaxKeepAliveCount=keepalive_count,
            # lifetime: the server drops the subscription after this many silent intervals
            RequestedLifetimeCount=keepalive_count * 3,
            MaxNotificationsPerPublish=0,
            PublishingEnabled=True,
            Priority=0,
        )
        result = await session.create_subscription(params, self._on_publish)  # type: ignore[attr-defined]  # an asyncua session
        self.subscription_id = result.SubscriptionId
        self.keepalive_s = (result.RevisedPublishingInterval / 1000.0
                            * max(1, result.RevisedMaxKeepAliveCount))
        self.last_publish = time.monotonic()
        refused: list[Sample] = []
        now = self._clock()
        handle = 0
        for start in range(0, len(items), batch):
            part = items[start : start + batch]
            requests = []
            for item in part:
                handle += 1
                self.handles[handle] = item.key
                requests.append(monitored_item_request(d, item, handle))
            cparams = ua.CreateMonitoredItemsParameters(
                SubscriptionId=self.subscription_id,
                TimestampsToReturn=ua.TimestampsToReturn.Both,
                ItemsToCreate=requests,
            )
            results = await session.create_monitored_items(cparams)  # type: ignore[attr-defined]  # an asyncua session
            for item, req, res in zip(part, requests, results, strict=True):
                if not res.StatusCode.is_good():
                    self.handles.pop(req.RequestedParameters.ClientHandle, None)
                    log.warning("%s: %s (%s) refused by the server: %s", d.id, item.key,
                                item.nodeid.to_string(), status_name(res.StatusCode),
                                extra={"device": d.id})
                    refused.append(bad(item.key, now))
                    self.refused[item.key] = status_name(res.StatusCode)
        return refused

    def silent_for(self) -> float:
        return time.monotonic() - self.last_publish

    def _on_publish(self, result: ua.PublishResult) -> None:
        # called by asyncua's publish loop for data and keep-alive messages alike
        self.last_publish = time.monotonic()
        data = result.NotificationMessage.NotificationData
        if not data:
            return
        now = self._clock()
        samples: list[Sample] = []
        handles = self.handles
        use_source = self.use_source
        for notif in data:
            if isinstance(notif, ua.DataChangeNotification):
                for mi in notif.MonitoredItems:
                    key = handles.get(mi.ClientHandle)
                    if key is not None:
                        smp = sample_from(key, mi.Value, use_source, now)
                        samples.append(smp if not self.gather else
                                       Sample(smp.signal, smp.value, smp.quality, now))
            elif (isinstance(notif, ua.StatusChangeNotification)
                  and quality_of(notif.Status) is not Quality.GOOD):
                # BadTimeout: the server deleted the subscription (lifetime expired);
                # BadShutdown: asyncua saw the transport die. Either way: re-create.
                name = status_name(notif.Status)
                self.on_dead(f"subscription status {name}", status_kind(name))
        if samples:
            self.notifications += len(samples)
            self.emit(samples)

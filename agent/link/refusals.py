"""Messages the broker refused (PUBACK reason ≥ 0x80): one `message_refused` alarm per topic.

The forwarder has already moved the message to the outbox's dead-letter table (counted, kept for a
physicist to read with `doseedge store status`); this turns the first refusal on each topic into a
latching high alarm, so an ACL that refuses `reading/#` is seen at once and never blocks other topics.
A refused `alarm` topic is dead-lettered like any other; its alarm is raised once and refused in turn,
so there is no loop. Counted per topic for `…/health`.
"""

from __future__ import annotations

__all__ = ["RefusalAlarms"]

import logging
import uuid
from collections import Counter
from collections.abc import Callable

from agent.notices import AlarmNotice
from agent.store.messages import OutMessage, StoredMessage

log = logging.getLogger(__name__)


class RefusalAlarms:
    def __init__(
        self,
        alarm_message: Callable[[AlarmNotice], OutMessage],
        store: Callable[[list[OutMessage]], None],
    ) -> None:
        self._alarm_message = alarm_message
        self._store = store
        self.by_topic: Counter[str] = Counter()

    def refused(self, message: StoredMessage, reason: str) -> None:
        self.by_topic[message.topic] += 1
        if self.by_topic[message.topic] > 1:
            return
        log.error("BROKER REFUSES topic %s (%s): dead-lettered, seq %d", message.topic, reason, message.seq)
        notice = AlarmNotice(
            str(uuid.uuid4()),
            "message_refused",
            "raised",
            "high",
            f"The broker refuses messages on {message.topic}: they are kept on the box, not delivered",
            {"topic": message.topic, "reason": reason, "seq": message.seq, "record_id": message.record_id},
            latching=True,
        )
        self._store([self._alarm_message(notice)])

"""A stand-alone writer process for the kill -9 tests (not collected by pytest).

    python -m tests.sinks.writer_proc STATE_DIR URL DB START COUNT PROGRESS_FILE

Enqueues COUNT plant points from index START in batches of 100, 1 batch per 10 ms, with
delivery running; after each enqueue returns it appends the end index to PROGRESS_FILE
(so the test knows what the "engine" had handed over). With COUNT=0 it only delivers
until the queue is empty, then exits 0.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from lineside.sinks.sinkset import SinkSet
from tests.sinks.helpers import plant_points, v1


async def main(state: Path, url: str, db: str, start: int, count: int, progress: Path) -> int:
    sinks = SinkSet([v1(url, state, database=db, batch_size=500, max_retry_delay_s=0.3)],
                    state)
    task = asyncio.create_task(sinks.run())
    with open(progress, "a") as prog:
        i = start
        while i < start + count:
            n = min(100, start + count - i)
            sinks.enqueue(plant_points(n, start=i))
            i += n
            prog.write(f"{i}\n")
            prog.flush()
            await asyncio.sleep(0.01)
    while sinks.stats()["plant"].queue_points:
        await asyncio.sleep(0.05)
    task.cancel()
    await sinks.close()
    return 0


if __name__ == "__main__":
    a = sys.argv[1:]
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(asyncio.run(main(Path(a[0]), a[1], a[2], int(a[3]), int(a[4]), Path(a[5]))))

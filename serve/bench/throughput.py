#!/usr/bin/env python3
"""Produce and consume throughput, and produce latency, of a real Kafka client
(confluent-kafka, i.e. librdkafka) against `kafkasim serve`.

Starts the release `kafkasim serve` on free loopback ports (or uses a running
server given with --bootstrap), creates a topic of 3 partitions, replication
factor 3 and min.insync.replicas 2, and produces --records records of --size
bytes with acks=all and enable.idempotence=true, librdkafka's default
batching otherwise. Each record's latency is the time from its produce() call
to its delivery callback. Then a fresh consumer (assigned every partition from
the beginning, no group rebalance) reads them all back, and every record must
come back exactly once. Prints one line per figure; stops the server it
started, by its PID.

A benchmark script, not a test: it exits 1 with one line on stderr if the
server does not start, a record fails or goes missing, or a step times out.

Usage (from the repository root, after
`cargo build --release -p kafkasim-tools`):

    python3 serve/bench/throughput.py --records 50000 --size 100

The binary is --binary, else $CARGO_TARGET_DIR/release/kafkasim, else
target/release/kafkasim.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 3
REPLICATION_FACTOR = 3
MIN_INSYNC_REPLICAS = 2
# The first bytes of each value: the record's number in decimal digits (the
# server takes only UTF-8 values), to match deliveries to their produce()
# calls and to check the consumer's records.
INDEX_DIGITS = 12
# The number of the records produced and delivered before the timed run, one
# to each partition, so that the client's start-up is not counted in it:
# librdkafka's idempotent producer first asks for a producer id (when its
# first look finds no broker connected it waits for its PID timer, 500 ms),
# and it connects to each partition's leader on its first record there.
WARM_UP = 10**INDEX_DIGITS - 1
START_TIMEOUT_S = 20
STEP_TIMEOUT_S = 120


class BenchError(Exception):
    """A failure reported as one line, with exit code 1."""


def default_binary():
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        return Path(target) / "release" / "kafkasim"
    return Path(__file__).resolve().parents[2] / "target" / "release" / "kafkasim"


class Server:
    """`kafkasim serve --port 0` as a child process; its output drained on
    threads (a full pipe would block the server), the last lines kept for a
    failure's message."""

    def __init__(self, binary, brokers):
        if not Path(binary).is_file():
            raise BenchError(
                f"no kafkasim binary at {binary} "
                "(cargo build --release -p kafkasim-tools, or give --binary)"
            )
        self.tail = deque(maxlen=20)
        self.process = subprocess.Popen(
            [str(binary), "serve", "--port", "0", "--brokers", str(brokers)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.pid = self.process.pid
        self.ready = threading.Event()
        self.bootstrap = None
        threading.Thread(target=self._read, args=(self.process.stdout, True), daemon=True).start()
        threading.Thread(target=self._read, args=(self.process.stderr, False), daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.ready.wait(0.05):
            if self.process.poll() is not None:
                time.sleep(0.1)  # let the readers take its last words
                raise BenchError(
                    f"kafkasim serve exited with code {self.process.returncode} "
                    f"before listening: {self.last_words()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise BenchError(
                    f"kafkasim serve did not say where it listens within "
                    f"{START_TIMEOUT_S} s: {self.last_words()}"
                )

    def _read(self, stream, is_stdout):
        for line in stream:
            line = line.rstrip("\n")
            self.tail.append(line)
            if is_stdout and self.bootstrap is None:
                found = re.match(r"broker-1 listening on (\S+)$", line)
                if found:
                    self.bootstrap = found.group(1)
                    self.ready.set()

    def check(self):
        """Fails if the server has exited."""
        if self.process.poll() is not None:
            raise BenchError(
                f"kafkasim serve exited with code {self.process.returncode}: {self.last_words()}"
            )

    def last_words(self):
        return " | ".join(self.tail) or "(no output)"

    def stop(self):
        """Stops the server by its PID: SIGTERM, then SIGKILL after 5 s."""
        if self.process.poll() is not None:
            return
        os.kill(self.pid, signal.SIGTERM)
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.process.wait()


def cpu_seconds(pid=None):
    """CPU time (user + system, all threads) of this process, or of `pid`
    from /proc (None where there is no /proc)."""
    if pid is None:
        return time.process_time()
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Wall time, and the CPU time this client and the server used, over one
    phase: what tells which side bounds it."""

    def __init__(self, server):
        self.server_pid = server.pid if server is not None else None
        self.wall = time.perf_counter()
        self.client = cpu_seconds()
        self.server = cpu_seconds(self.server_pid) if self.server_pid else None

    def line(self, name):
        wall = time.perf_counter() - self.wall
        client = cpu_seconds() - self.client
        text = f"{name} cpu: {wall:.2f} s wall, client {client:.2f} s"
        if self.server is not None:
            server = cpu_seconds(self.server_pid)
            if server is not None:
                text += f", server {server - self.server:.2f} s"
        return text + " (2 cores: up to 2 s of CPU per wall second)"


def percentile(sorted_values, q):
    """The nearest-rank percentile of an ascending list."""
    rank = max(1, -(-len(sorted_values) * q // 100))
    return sorted_values[int(rank) - 1]


def create_topic(bootstrap, topic):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    new = NewTopic(
        topic,
        PARTITIONS,
        REPLICATION_FACTOR,
        config={"min.insync.replicas": str(MIN_INSYNC_REPLICAS)},
    )
    for future in admin.create_topics([new], request_timeout=30).values():
        try:
            future.result(timeout=30)
        except KafkaException as e:
            raise BenchError(f"cannot create topic {topic}: {e}") from None


def wait_flushed(producer, server):
    """Flushes, failing at once if the server exits; returns how many records
    are still undelivered after STEP_TIMEOUT_S."""
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while True:
        left = producer.flush(0.2)
        if left == 0 or time.monotonic() > deadline:
            return left
        if server is not None:
            server.check()


def produce(bootstrap, topic, records, size, server):
    sent_at = [0.0] * records
    latency = [0.0] * records
    failures = []
    delivered = [0]

    def on_delivery(err, msg):
        now = time.perf_counter()
        i = int(msg.value()[:INDEX_DIGITS])
        if err is not None:
            failures.append(f"record {i}: {err}")
            return
        latency[i] = now - sent_at[i]
        delivered[0] += 1

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "enable.idempotence": True,
            "message.timeout.ms": STEP_TIMEOUT_S * 1000,
        }
    )
    padding = b"x" * (size - INDEX_DIGITS)
    warm_up = []
    warm_up_start = time.perf_counter()
    for p in range(PARTITIONS):
        producer.produce(
            topic,
            value=b"%012d" % WARM_UP + padding,
            partition=p,
            on_delivery=lambda err, msg: warm_up.append(err),
        )
    wait_flushed(producer, server)
    warm_up_ms = (time.perf_counter() - warm_up_start) * 1000
    if len(warm_up) != PARTITIONS or any(err is not None for err in warm_up):
        why = [str(err) for err in warm_up if err is not None] or ["not delivered in time"]
        raise BenchError(f"the warm-up records failed: {why[0]}")
    meter = CpuMeter(server)
    start = time.perf_counter()
    for i in range(records):
        value = b"%012d" % i + padding
        while True:
            sent_at[i] = time.perf_counter()
            try:
                producer.produce(topic, value=value, on_delivery=on_delivery)
                break
            except BufferError:  # the client's queue is full: let it drain
                producer.poll(0.05)
                if server is not None:
                    server.check()
        producer.poll(0)
    unsent = wait_flushed(producer, server)
    elapsed = time.perf_counter() - start
    cpu = meter.line("produce")
    if failures:
        raise BenchError(f"{len(failures)} record(s) failed to produce, first: {failures[0]}")
    if unsent or delivered[0] != records:
        raise BenchError(
            f"only {delivered[0]} of {records} records delivered "
            f"({unsent} still unsent after {STEP_TIMEOUT_S} s)"
        )
    return warm_up_ms, elapsed, sorted(latency), cpu


def consume(bootstrap, topic, records, server):
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{topic}-bench",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    seen = bytearray(records)
    count = duplicates = warm_ups = 0
    first = None
    meter = CpuMeter(server)
    start = time.perf_counter()
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while count < records and time.monotonic() < deadline:
        if server is not None:
            server.check()
        # Ask for no more than is left: consume() waits for the number asked
        # for, or the timeout, so the last call would otherwise wait it out.
        left = records - count + (PARTITIONS - warm_ups)
        for message in consumer.consume(num_messages=min(left, 10000), timeout=0.5):
            if message.error():
                raise BenchError(f"consume error: {message.error()}")
            if first is None:
                first = time.perf_counter()
            i = int(message.value()[:INDEX_DIGITS])
            if i == WARM_UP:  # one per partition, produced before the timed run
                warm_ups += 1
                continue
            if i >= records:
                raise BenchError(f"read a record numbered {i}, past the {records} produced")
            if seen[i]:
                duplicates += 1
            else:
                seen[i] = 1
                count += 1
    end = time.perf_counter()
    cpu = meter.line("consume")
    consumer.close()
    if count < records:
        raise BenchError(
            f"{records - count} of {records} records missing after {STEP_TIMEOUT_S} s "
            f"(the first: record {seen.index(0)})"
        )
    if duplicates or warm_ups != PARTITIONS:
        raise BenchError(
            f"{duplicates} record(s) read back more than once "
            f"(and {warm_ups} warm-up records for {PARTITIONS})"
        )
    return first - start, end - start, cpu


def main():
    parser = argparse.ArgumentParser(
        description="produce/consume throughput and produce latency of "
        "confluent-kafka against kafkasim serve"
    )
    parser.add_argument("--records", type=int, default=50000, help="records to produce (50000)")
    parser.add_argument("--size", type=int, default=100, help="bytes per record value (100)")
    parser.add_argument("--binary", help="the kafkasim binary (default: the release build)")
    parser.add_argument(
        "--bootstrap", help="a running server's HOST:PORT, instead of starting one"
    )
    parser.add_argument("--topic", default="bench", help="the topic to create (bench)")
    args = parser.parse_args()
    if args.records < 1:
        parser.error("--records must be at least 1")
    if args.size < INDEX_DIGITS:
        parser.error(f"--size must be at least {INDEX_DIGITS} (the record's number)")

    # Stopped itself, it stops its server too (the `finally` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("throughput.py: stopped by SIGTERM"))
    server = None
    try:
        if args.bootstrap:
            bootstrap = args.bootstrap
            print(f"server: {bootstrap} (already running)", flush=True)
        else:
            binary = args.binary or default_binary()
            server = Server(binary, REPLICATION_FACTOR)
            bootstrap = server.bootstrap
            print(f"server: {binary} serve --port 0 --brokers 3, pid {server.pid}, "
                  f"broker-1 on {bootstrap}", flush=True)
        create_topic(bootstrap, args.topic)
        print(f"topic: {args.topic}, {PARTITIONS} partitions, replication factor "
              f"{REPLICATION_FACTOR}, min.insync.replicas {MIN_INSYNC_REPLICAS}", flush=True)

        megabytes = args.records * args.size / 1e6
        warm_up_ms, elapsed, latency, cpu = produce(
            bootstrap, args.topic, args.records, args.size, server
        )
        ms = [v * 1000 for v in (percentile(latency, 50), percentile(latency, 99), latency[-1])]
        print(f"produce warm-up: one record to each partition, delivered in {warm_up_ms:.1f} ms "
              "(the client's start-up, not counted below)", flush=True)
        print(f"produce: {args.records} records of {args.size} B in {elapsed:.2f} s: "
              f"{args.records / elapsed:,.0f} records/s, {megabytes / elapsed:.2f} MB/s "
              "(acks=all, idempotent)", flush=True)
        print(f"produce latency: p50 {ms[0]:.1f} ms, p99 {ms[1]:.1f} ms, max {ms[2]:.1f} ms",
              flush=True)
        print(cpu, flush=True)

        to_first, elapsed, cpu = consume(bootstrap, args.topic, args.records, server)
        print(f"consume: {args.records} records in {elapsed:.2f} s from assign() to the last: "
              f"{args.records / elapsed:,.0f} records/s, {megabytes / elapsed:.2f} MB/s "
              f"(the first after {to_first * 1000:.1f} ms; each read back once)", flush=True)
        print(cpu, flush=True)
        if server is not None:
            server.check()
    except (BenchError, KafkaException) as e:
        print(f"throughput.py: {e}", file=sys.stderr, flush=True)
        return 1
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

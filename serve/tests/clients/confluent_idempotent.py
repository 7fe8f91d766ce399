"""An idempotent librdkafka producer keeps producing while a broker crashes
and restarts; afterwards every acknowledged record is read back exactly once.

Creates TOPIC (3 partitions, replication factor 3, min.insync.replicas 2),
produces numbered records with enable.idempotence=true and acks=all, and,
over the server's control port, crashes broker-2 after a second and restarts
it a few seconds later, producing all along. Then a fresh consumer (no group)
reads every partition from the beginning to its end. Prints `acked N`,
`read N`, and `duplicate V` / `missing V` lines; the Rust test
(serve/tests/idempotent_producer.rs) asserts there are none.

Usage: KAFKA_BROKER=127.0.0.1:PORT python3 confluent_idempotent.py TOPIC CONTROL_PORT
"""

import os
import socket
import sys
import time
from collections import Counter

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

broker = os.environ["KAFKA_BROKER"]
topic = sys.argv[1]
control_port = int(sys.argv[2])
partitions = 3


def control(command):
    with socket.create_connection(("127.0.0.1", control_port), timeout=10) as s:
        s.sendall(f"{command}\n".encode())
        answer = s.makefile().readline().strip()
    print(f"control: {command} -> {answer}", flush=True)


admin = AdminClient({"bootstrap.servers": broker})
new = NewTopic(topic, partitions, 3, config={"min.insync.replicas": "2"})
for future in admin.create_topics([new]).values():
    future.result(timeout=30)
print(f"created {topic}", flush=True)

acked = []
failed = []


def delivered(err, msg):
    if err is None:
        acked.append(msg.value().decode())
    else:
        failed.append((msg.value().decode(), str(err)))


producer = Producer(
    {
        "bootstrap.servers": broker,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "message.timeout.ms": 60000,
    }
)
start = time.monotonic()
crashed = restarted = False
n = 0
while time.monotonic() - start < 12:
    elapsed = time.monotonic() - start
    if not crashed and elapsed > 1:
        control("crash broker-2")
        crashed = True
    if not restarted and elapsed > 4:
        control("restart broker-2")
        restarted = True
    producer.produce(topic, value=f"v{n}".encode(), partition=n % partitions, on_delivery=delivered)
    n += 1
    producer.poll(0.005)
print(f"unsent after flush: {producer.flush(90)}", flush=True)
print(f"produced {n}", flush=True)
print(f"acked {len(acked)}", flush=True)
for value, err in failed[:20]:
    print(f"failed {value}: {err}", flush=True)
print(f"failed {len(failed)}", flush=True)

consumer = Consumer(
    {"bootstrap.servers": broker, "group.id": f"{topic}-check", "enable.auto.commit": False}
)
ends = {}
for p in range(partitions):
    _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
    ends[p] = high
consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
read = []
positions = {p: 0 for p in range(partitions)}
deadline = time.monotonic() + 60
while time.monotonic() < deadline and any(positions[p] < ends[p] for p in ends):
    message = consumer.poll(0.2)
    if message is None or message.error():
        continue
    read.append(message.value().decode())
    positions[message.partition()] = message.offset() + 1
consumer.close()
print(f"ends {ends}", flush=True)
print(f"read {len(read)}", flush=True)
counts = Counter(read)
for value in acked:
    if counts[value] == 0:
        print(f"missing {value}", flush=True)
    elif counts[value] > 1:
        print(f"duplicate {value} x{counts[value]}", flush=True)
print("checked", flush=True)

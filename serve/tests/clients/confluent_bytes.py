"""confluent-kafka (librdkafka) against `kafkasim serve`, records as Kafka has
them: a binary (non-UTF-8) key and value with headers (one with no value),
then a tombstone (a null value) for the same key, on a 3-partition topic.
The producer uses `partitioner=murmur2_random`, Kafka's Java partitioner, so
the key's partition is `toPositive(murmur2(key)) % 3`. Reads everything back
and prints each record's bytes as hex; the Rust test
(serve/tests/python_clients.rs) checks them and the partition.

Usage: KAFKA_BROKER=127.0.0.1:PORT python3 confluent_bytes.py TOPIC
"""

import os
import sys

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

broker = os.environ["KAFKA_BROKER"]
topic = sys.argv[1]
key = bytes([0x00, 0xFF, 0xFE, 0x80, 0x64])
value = bytes([0xC3, 0x28, 0x00, 0xFF])
headers = [("trace-id", bytes([0x80, 0x81, 0x00])), ("empty", None)]

admin = AdminClient({"bootstrap.servers": broker})
for name, future in admin.create_topics([NewTopic(topic, 3, 1)]).items():
    future.result(timeout=30)
    print(f"created {name}", flush=True)

producer = Producer(
    {"bootstrap.servers": broker, "acks": "all", "partitioner": "murmur2_random"}
)


def delivered(err, msg):
    if err is not None:
        print(f"send FAILED: {err}", flush=True)
    else:
        print(f"sent {msg.partition()} {msg.offset()}", flush=True)


producer.produce(topic, key=key, value=value, headers=headers, on_delivery=delivered)
producer.produce(topic, key=key, value=None, on_delivery=delivered)
left = producer.flush(30)
print(f"unsent after flush: {left}", flush=True)


def hex_or_null(data):
    return "null" if data is None else data.hex()


consumer = Consumer(
    {
        "bootstrap.servers": broker,
        "group.id": f"{topic}-reader",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    }
)
consumer.subscribe([topic])
received = 0
for _ in range(300):
    message = consumer.poll(0.1)
    if message is None:
        continue
    if message.error():
        print(f"consume error: {message.error()}", flush=True)
        continue
    shown = ",".join(f"{k}={hex_or_null(v)}" for k, v in (message.headers() or []))
    print(
        f"got {message.partition()} {message.offset()} key={hex_or_null(message.key())}"
        f" value={hex_or_null(message.value())} headers=[{shown}]",
        flush=True,
    )
    received += 1
    if received == 2:
        break
consumer.close()
print("done", flush=True)

"""confluent-kafka (librdkafka) against `kafkasim serve`: create a topic,
produce three records, read them back from the beginning. Prints one line per
step; the Rust test (serve/tests/python_clients.rs) reads them.

Usage: KAFKA_BROKER=127.0.0.1:PORT python3 confluent_roundtrip.py TOPIC
"""

import os
import sys

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

broker = os.environ["KAFKA_BROKER"]
topic = sys.argv[1]
values = ["one", "two", "three"]

admin = AdminClient({"bootstrap.servers": broker})
for name, future in admin.create_topics([NewTopic(topic, 1, 1)]).items():
    future.result(timeout=30)
    print(f"created {name}", flush=True)

producer = Producer({"bootstrap.servers": broker, "acks": "all"})


def delivered(err, msg):
    if err is not None:
        print(f"send FAILED: {err}", flush=True)
    else:
        print(f"sent {msg.value().decode()} at {msg.partition()}/{msg.offset()}", flush=True)


for value in values:
    producer.produce(topic, key=b"k", value=value.encode(), on_delivery=delivered)
left = producer.flush(30)
print(f"unsent after flush: {left}", flush=True)

consumer = Consumer(
    {
        "bootstrap.servers": broker,
        "group.id": f"{topic}-reader",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    }
)
consumer.subscribe([topic])
received = []
for _ in range(300):
    message = consumer.poll(0.1)
    if message is None:
        continue
    if message.error():
        print(f"consume error: {message.error()}", flush=True)
        continue
    received.append(message.value().decode())
    print(f"received {received[-1]} at {message.partition()}/{message.offset()}", flush=True)
    if len(received) == len(values):
        break
consumer.close()
print("round trip ok" if received == values else f"round trip FAILED: {received}", flush=True)

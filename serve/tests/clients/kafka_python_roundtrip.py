"""kafka-python against `kafkasim serve`: create a topic, produce three
records, read them back from the beginning. Prints one line per step; the
Rust test (serve/tests/python_clients.rs) reads them.

Usage: KAFKA_BROKER=127.0.0.1:PORT python3 kafka_python_roundtrip.py TOPIC
"""

import os
import sys

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

broker = os.environ["KAFKA_BROKER"]
topic = sys.argv[1]
values = ["one", "two", "three"]

admin = KafkaAdminClient(bootstrap_servers=broker, client_id="roundtrip-admin")
admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
print(f"created {topic}", flush=True)
admin.close()

producer = KafkaProducer(bootstrap_servers=broker, acks="all")
for value in values:
    meta = producer.send(topic, key=b"k", value=value.encode()).get(timeout=30)
    print(f"sent {value} at {meta.partition}/{meta.offset}", flush=True)
producer.close()

consumer = KafkaConsumer(
    topic,
    bootstrap_servers=broker,
    auto_offset_reset="earliest",
    enable_auto_commit=False,
    consumer_timeout_ms=30_000,
)
received = []
for message in consumer:
    received.append(message.value.decode())
    print(f"received {received[-1]} at {message.partition}/{message.offset}", flush=True)
    if len(received) == len(values):
        break
consumer.close()
print("round trip ok" if received == values else f"round trip FAILED: {received}", flush=True)

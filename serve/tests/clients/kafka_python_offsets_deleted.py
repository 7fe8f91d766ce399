"""Deleting `__consumer_offsets` on `kafkasim serve` with kafka-python's admin
client: Kafka 4.x's controller deletes it like any topic. A group commits an
offset; the topic is deleted; the next FindCoordinator creates it afresh, and
the group's committed offset is gone. Prints one line per step; the Rust test
(serve/tests/python_clients.rs) reads them.

Usage: KAFKA_BROKER=127.0.0.1:PORT python3 kafka_python_offsets_deleted.py TOPIC
"""

import os
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.structs import OffsetAndMetadata

broker = os.environ["KAFKA_BROKER"]
topic = sys.argv[1]
group = f"{topic}-group"
partition = TopicPartition(topic, 0)

admin = KafkaAdminClient(bootstrap_servers=broker, client_id="offsets-admin")
admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
producer = KafkaProducer(bootstrap_servers=broker, acks="all")
for i in range(3):
    producer.send(topic, value=f"r{i}".encode(), partition=0).get(timeout=30)
producer.close()
print(f"created {topic} with 3 records", flush=True)


def consumer():
    c = KafkaConsumer(
        bootstrap_servers=broker,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    c.assign([partition])
    return c


first = consumer()
first.commit({partition: OffsetAndMetadata(2, "", -1)})
print(f"committed {first.committed(partition)}", flush=True)
first.close()

admin.delete_topics(["__consumer_offsets"], timeout_ms=30_000)
print("deleted __consumer_offsets", flush=True)
for _ in range(100):
    if "__consumer_offsets" not in admin.list_topics():
        print("__consumer_offsets no longer listed", flush=True)
        break
    time.sleep(0.1)
admin.close()

second = consumer()
print(f"committed after the delete {second.committed(partition)}", flush=True)
values = []
deadline = time.monotonic() + 30
while time.monotonic() < deadline and len(values) < 3:
    for records in second.poll(timeout_ms=200).values():
        values.extend(r.value.decode() for r in records)
print(f"read from {values[0] if values else None}: {values}", flush=True)
second.commit({partition: OffsetAndMetadata(3, "", -1)})
print(f"committed again {second.committed(partition)}", flush=True)
second.close()

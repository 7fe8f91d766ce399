"""kafka-python's admin client deletes a topic on `kafkasim serve`: create a
topic, produce to it, delete it, see it gone from the metadata, then delete
it again and get UNKNOWN_TOPIC_OR_PARTITION. Prints one line per step; the
Rust test (serve/tests/python_clients.rs) reads them.

Usage: KAFKA_BROKER=127.0.0.1:PORT python3 kafka_python_delete.py TOPIC
"""

import os
import sys
import time

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import UnknownTopicOrPartitionError

broker = os.environ["KAFKA_BROKER"]
topic = sys.argv[1]

admin = KafkaAdminClient(bootstrap_servers=broker, client_id="delete-admin")
admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
print(f"created {topic}", flush=True)

producer = KafkaProducer(bootstrap_servers=broker, acks="all")
meta = producer.send(topic, value=b"doomed", partition=0).get(timeout=30)
print(f"sent doomed at {meta.partition}/{meta.offset}", flush=True)
producer.close()

admin.delete_topics([topic], timeout_ms=30_000)
print(f"deleted {topic}", flush=True)

# The metadata a broker answers with is pulled from the controller: wait
# (boundedly) until it no longer lists the topic.
for _ in range(100):
    if topic not in admin.list_topics():
        print(f"{topic} no longer listed", flush=True)
        break
    time.sleep(0.1)
else:
    print(f"{topic} still listed", flush=True)

try:
    admin.delete_topics([topic], timeout_ms=30_000)
    print("deleted twice", flush=True)
except UnknownTopicOrPartitionError:
    print("second delete: UNKNOWN_TOPIC_OR_PARTITION", flush=True)
admin.close()

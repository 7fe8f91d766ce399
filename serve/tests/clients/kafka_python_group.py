"""Two kafka-python consumers in one group split a 2-partition topic.

The same test as confluent_group.py, with kafka-python: both members join
first; once the group's assignment gives each of them one partition, ten
records go to each partition, and both members poll until all twenty have
arrived. Prints `record MEMBER PARTITION VALUE` for each record received; the
Rust test (serve/tests/python_clients.rs) checks that the two members'
partitions are disjoint and non-empty and that together they received every
record.

kafka-python runs the group protocol inside poll() (only heartbeats have a
thread of their own), so each member polls in a thread of its own, as two
applications would: a member that is not polling when its group rebalances
joins late, and the rebalance waits for it.

Usage: KAFKA_BROKER=127.0.0.1:PORT python3 kafka_python_group.py TOPIC
"""

import os
import sys
import threading
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

broker = os.environ["KAFKA_BROKER"]
topic = sys.argv[1]
per_partition = 10
deadline = time.monotonic() + 60

admin = KafkaAdminClient(bootstrap_servers=broker)
admin.create_topics([NewTopic(topic, 2, 1)])
admin.close()
print(f"created {topic}", flush=True)

names = ("member-a", "member-b")
received = {name: [] for name in names}
assigned = {name: [] for name in names}
lock = threading.Lock()
stop = threading.Event()


def member(name):
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=broker,
        group_id=f"{topic}-group",
        client_id=name,
        auto_offset_reset="earliest",
    )
    while not stop.is_set():
        batches = consumer.poll(timeout_ms=100)
        with lock:
            assigned[name] = sorted(p.partition for p in consumer.assignment())
            for partition, records in batches.items():
                for record in records:
                    received[name].append((partition.partition, record.value.decode()))
    consumer.close()


threads = [threading.Thread(target=member, args=(name,)) for name in names]
for thread in threads:
    thread.start()

# Both members in the group, one partition each, before anything is sent.
while time.monotonic() < deadline:
    with lock:
        split = dict(assigned)
    if all(len(parts) == 1 for parts in split.values()) and split["member-a"] != split["member-b"]:
        break
    time.sleep(0.1)
for name, parts in split.items():
    print(f"{name} assigned {parts}", flush=True)

producer = KafkaProducer(bootstrap_servers=broker, acks="all")
for partition in (0, 1):
    for i in range(per_partition):
        producer.send(topic, value=f"p{partition}-{i}".encode(), partition=partition)
producer.flush(30)
producer.close()

while time.monotonic() < deadline:
    with lock:
        if sum(map(len, received.values())) >= 2 * per_partition:
            break
    time.sleep(0.1)
stop.set()
for thread in threads:
    thread.join()

for name in names:
    for partition, value in received[name]:
        print(f"record {name} {partition} {value}", flush=True)
print("done", flush=True)

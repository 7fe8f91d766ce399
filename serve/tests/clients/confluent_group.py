"""Two confluent-kafka consumers in one group split a 2-partition topic.

Both members join first; once the group's assignment gives each of them one
partition, ten records go to each partition, and both members poll until all
twenty have arrived. Prints `record MEMBER PARTITION VALUE` for each record
received; the Rust test (serve/tests/python_clients.rs) checks that the two
members' partitions are disjoint and non-empty and that together they
received every record.

(librdkafka runs the group protocol on threads of its own, so one script can
poll two members in turn. kafka-python runs it inside poll(): its version of
this test, kafka_python_group.py, gives each member a thread.)

Usage: KAFKA_BROKER=127.0.0.1:PORT python3 confluent_group.py TOPIC
"""

import os
import sys
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

broker = os.environ["KAFKA_BROKER"]
topic = sys.argv[1]
per_partition = 10
deadline = time.monotonic() + 60

admin = AdminClient({"bootstrap.servers": broker})
for future in admin.create_topics([NewTopic(topic, 2, 1)]).values():
    future.result(timeout=30)
print(f"created {topic}", flush=True)


def member(name):
    consumer = Consumer(
        {
            "bootstrap.servers": broker,
            "group.id": f"{topic}-group",
            "client.id": name,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    return consumer


members = {"member-a": member("member-a"), "member-b": member("member-b")}
received = {name: [] for name in members}


def poll_all():
    for name, consumer in members.items():
        message = consumer.poll(0.05)
        if message is None:
            continue
        if message.error():
            print(f"{name} error: {message.error()}", flush=True)
            continue
        received[name].append((message.partition(), message.value().decode()))


def assignments():
    return {name: sorted(p.partition for p in c.assignment()) for name, c in members.items()}


# Both members in the group, one partition each, before anything is sent.
while time.monotonic() < deadline:
    poll_all()
    split = assignments()
    if all(len(parts) == 1 for parts in split.values()) and split["member-a"] != split["member-b"]:
        break
for name, parts in assignments().items():
    print(f"{name} assigned {parts}", flush=True)

producer = Producer({"bootstrap.servers": broker, "acks": "all"})
for partition in (0, 1):
    for i in range(per_partition):
        producer.produce(topic, value=f"p{partition}-{i}".encode(), partition=partition)
print(f"unsent after flush: {producer.flush(30)}", flush=True)

while time.monotonic() < deadline and sum(map(len, received.values())) < 2 * per_partition:
    poll_all()

for name in members:
    for partition, value in received[name]:
        print(f"record {name} {partition} {value}", flush=True)
print("done", flush=True)
for consumer in members.values():
    consumer.close()

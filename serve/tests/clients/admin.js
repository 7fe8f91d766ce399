const { Kafka } = require('kafkajs');

async function run() {
	try {
		const kafka = new Kafka({
			clientId: 'myapp',
			brokers: [process.env.KAFKA_BROKER || '127.0.0.1:9092'],
		});

		const admin = kafka.admin();
		console.log('connecting...');
		await admin.connect();
		console.log('connected.');
		// A-M, N-Z
		await admin.createTopics({
			topics: [
				{
					topic: 'users',
					numPartitions: 2,
				},
			],
		});
		console.log('topic created successfully');
		await admin.disconnect();
	} catch (ex) {
		console.error(`something went wrong ${ex}`);
	} finally {
		process.exit(0);
	}
}

run();

const { Kafka } = require('kafkajs');

async function run() {
	try {
		const kafka = new Kafka({
			clientId: 'myapp',
			brokers: [process.env.KAFKA_BROKER || '127.0.0.1:9092'],
		});

		const consumer = kafka.consumer({
			groupId: 'group-1',
		});
		console.log('connecting...');
		await consumer.connect();
		console.log('connected.');
		await consumer.subscribe({
			topic: 'users',
			fromBeginning: true,
		});

		await consumer.run({
			eachMessage: async (result) => {
				console.log(
					`Received message ${result.message.value} on partition ${result.partition}`
				);
			},
		});
	} catch (ex) {
		console.error(`something went wrong ${ex}`);
	} finally {
	}
}

run();

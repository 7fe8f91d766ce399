const { Kafka } = require('kafkajs');

const msg = process.argv[2];

async function run() {
	try {
		const kafka = new Kafka({
			clientId: 'myapp',
			brokers: [process.env.KAFKA_BROKER || '127.0.0.1:9092'],
		});

		const producer = kafka.producer();
		console.log('connecting...');
		await producer.connect();
		console.log('connected.');
		// A-M 0, N-Z 1
		const partition = msg[0] < 'N' ? 0 : 1;
		const result = await producer.send({
			topic: 'users',
			messages: [
				{
					value: msg,
					partition: partition,
				},
			],
		});
		console.log(`send successfully: ${JSON.stringify(result)}`);
		await producer.disconnect();
	} catch (ex) {
		console.error(`something went wrong ${ex}`);
	} finally {
		process.exit(0);
	}
}

run();

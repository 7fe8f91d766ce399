//! A client that speaks Kafka's wire protocol through `kafka-protocol`'s own
//! types, one request at a time, for the tests that need no client library.

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, MetadataRequest, MetadataResponse, ProduceRequest,
    ProduceResponse, RequestHeader, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafkasim::record::RecordBatch;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest one answer may take.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// One connection to one broker.
pub struct Wire {
    stream: TcpStream,
    correlation_id: i32,
}

impl Wire {
    pub async fn connect(addr: SocketAddr) -> Wire {
        let stream = TcpStream::connect(addr).await.expect("the broker listens");
        Wire {
            stream,
            correlation_id: 0,
        }
    }

    /// Sends `body` as `api` in `version` and decodes the answer.
    pub async fn call<Q: Encodable, R: Decodable>(
        &mut self,
        api: ApiKey,
        version: i16,
        body: &Q,
    ) -> R {
        self.send(api, version, body).await;
        tokio::time::timeout(ANSWER_TIMEOUT, self.receive(api, version))
            .await
            .expect("answered in time")
    }

    /// Sends `body` as `api` in `version`, without waiting for the answer.
    pub async fn send<Q: Encodable>(&mut self, api: ApiKey, version: i16, body: &Q) {
        self.correlation_id += 1;
        let mut header = RequestHeader::default();
        header.request_api_key = api as i16;
        header.request_api_version = version;
        header.correlation_id = self.correlation_id;
        header.client_id = Some(StrBytes::from_static_str("wire-test"));
        let mut buf = BytesMut::new();
        header
            .encode(&mut buf, api.request_header_version(version))
            .expect("a header encodes");
        body.encode(&mut buf, version).expect("a request encodes");
        let frame = kafkasim_serve::frame::frame(&buf);
        self.stream.write_all(&frame).await.expect("sent");
    }

    /// Reads the answer to the last request sent, an `api` in `version`.
    pub async fn receive<R: Decodable>(&mut self, api: ApiKey, version: i16) -> R {
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size).await.expect("answered");
        let mut answer = vec![0u8; u32::from_be_bytes(size) as usize];
        self.stream
            .read_exact(&mut answer)
            .await
            .expect("a whole answer");
        let mut answer = Bytes::from(answer);
        let header = ResponseHeader::decode(&mut answer, api.response_header_version(version))
            .expect("a response header");
        assert_eq!(header.correlation_id, self.correlation_id);
        let response = R::decode(&mut answer, version).expect("a response decodes");
        assert_eq!(answer.remaining(), 0, "nothing left over");
        response
    }

    /// CreateTopics v4 of one topic; its error code.
    pub async fn create_topic(
        &mut self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
    ) -> i16 {
        let mut topic = CreatableTopic::default();
        topic.name = TopicName(StrBytes::from_string(name.to_string()));
        topic.num_partitions = partitions;
        topic.replication_factor = replication_factor;
        let mut request = CreateTopicsRequest::default();
        request.topics = vec![topic];
        request.timeout_ms = 30_000;
        let response: kafka_protocol::messages::CreateTopicsResponse =
            self.call(ApiKey::CreateTopics, 4, &request).await;
        response.topics[0].error_code
    }

    /// DeleteTopics v5 of one topic; its error code.
    pub async fn delete_topic(&mut self, name: &str) -> i16 {
        let mut request = kafka_protocol::messages::DeleteTopicsRequest::default();
        request.topic_names = vec![TopicName(StrBytes::from_string(name.to_string()))];
        request.timeout_ms = 30_000;
        let response: kafka_protocol::messages::DeleteTopicsResponse =
            self.call(ApiKey::DeleteTopics, 5, &request).await;
        response.responses[0].error_code
    }

    /// Metadata v9 of one topic.
    pub async fn metadata(&mut self, topic: &str) -> MetadataResponse {
        let mut wanted =
            kafka_protocol::messages::metadata_request::MetadataRequestTopic::default();
        wanted.name = Some(TopicName(StrBytes::from_string(topic.to_string())));
        let mut request = MetadataRequest::default();
        request.topics = Some(vec![wanted]);
        self.call(ApiKey::Metadata, 9, &request).await
    }

    /// Produce v8 of `values` to `topic`-`partition` with `acks`; the
    /// partition's error code and base offset.
    pub async fn produce(
        &mut self,
        topic: &str,
        partition: i32,
        acks: i16,
        values: &[&str],
    ) -> (i16, i64) {
        let request = produce_request(topic, partition, acks, values);
        let response: ProduceResponse = self.call(ApiKey::Produce, 8, &request).await;
        let p = &response.responses[0].partition_responses[0];
        (p.error_code, p.base_offset)
    }

    /// Produce v8 of `values` with `acks=0`: sent, and never answered.
    pub async fn produce_no_ack(&mut self, topic: &str, partition: i32, values: &[&str]) {
        let request = produce_request(topic, partition, 0, values);
        self.send(ApiKey::Produce, 8, &request).await;
    }
}

fn produce_request(topic: &str, partition: i32, acks: i16, values: &[&str]) -> ProduceRequest {
    let records =
        kafkasim_serve::wire::records::batches_to_wire(&[RecordBatch::from_values(values)]);
    let mut data = PartitionProduceData::default();
    data.index = partition;
    data.records = Some(records);
    let mut topic_data = TopicProduceData::default();
    topic_data.name = TopicName(StrBytes::from_string(topic.to_string()));
    topic_data.partition_data = vec![data];
    let mut request = ProduceRequest::default();
    request.acks = acks;
    request.timeout_ms = 30_000;
    request.topic_data = vec![topic_data];
    request
}

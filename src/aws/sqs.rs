//! A thin SQS wrapper over one queue (the env's dead-letter queue): receive a page of
//! messages with their attributes, give them back (visibility 0) or delete them. Returns
//! irisctl's own plain types. Must not interpret message bodies or decide what to
//! delete (that is `crate::dlq`). Also whether a queue of a given name exists (destroy's
//! receipt).

use std::collections::BTreeMap;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::MessageSystemAttributeName;

use super::error::Failure;

/// SQS's limit of messages per ReceiveMessage call.
pub const RECEIVE_LIMIT: i32 = 10;

#[derive(Debug, thiserror::Error)]
#[error("SQS {operation} on queue {queue}: {message}")]
pub struct SqsError {
    pub operation: &'static str,
    pub queue: String,
    pub status: Option<u16>,
    pub code: Option<String>,
    pub message: String,
}

impl SqsError {
    fn from_sdk<E>(operation: &'static str, queue: &str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let Failure {
            status,
            code,
            message,
        } = Failure::from_sdk(&err);
        SqsError {
            operation,
            queue: queue.to_owned(),
            status,
            code,
            message,
        }
    }
}

/// One received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: String,
    /// Valid until the message is given back or its visibility timeout ends.
    pub receipt_handle: String,
    pub body: String,
    /// String-valued message attributes (Number ones as their text), by name.
    pub attributes: BTreeMap<String, String>,
    /// Milliseconds since the epoch when the message was sent (`SentTimestamp`).
    pub sent_ms: Option<i64>,
    /// How often it has been received (`ApproximateReceiveCount`), this time included.
    pub receive_count: Option<u32>,
}

/// One queue, by URL.
#[derive(Debug, Clone)]
pub struct Queue {
    client: Client,
    url: String,
}

impl Queue {
    pub fn new(client: Client, url: impl Into<String>) -> Queue {
        Queue {
            client,
            url: url.into(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Up to [`RECEIVE_LIMIT`] messages, without waiting; each hidden from other
    /// receivers for `hide_s` seconds unless given back or deleted first.
    pub async fn receive(&self, hide_s: i32) -> Result<Vec<Message>, SqsError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(RECEIVE_LIMIT)
            .wait_time_seconds(0)
            .visibility_timeout(hide_s)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(|e| SqsError::from_sdk("ReceiveMessage", &self.url, e))?;
        Ok(out
            .messages()
            .iter()
            .map(|m| {
                let system = |name: MessageSystemAttributeName| {
                    m.attributes().and_then(|a| a.get(&name)).cloned()
                };
                Message {
                    id: m.message_id().unwrap_or_default().to_owned(),
                    receipt_handle: m.receipt_handle().unwrap_or_default().to_owned(),
                    body: m.body().unwrap_or_default().to_owned(),
                    attributes: m
                        .message_attributes()
                        .map(|attrs| {
                            attrs
                                .iter()
                                .filter_map(|(k, v)| {
                                    v.string_value().map(|s| (k.clone(), s.to_owned()))
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    sent_ms: system(MessageSystemAttributeName::SentTimestamp)
                        .and_then(|s| s.parse().ok()),
                    receive_count: system(MessageSystemAttributeName::ApproximateReceiveCount)
                        .and_then(|s| s.parse().ok()),
                }
            })
            .collect())
    }

    /// Makes a received message visible again at once.
    pub async fn give_back(&self, receipt_handle: &str) -> Result<(), SqsError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(0)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| SqsError::from_sdk("ChangeMessageVisibility", &self.url, e))
    }

    pub async fn delete(&self, receipt_handle: &str) -> Result<(), SqsError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| SqsError::from_sdk("DeleteMessage", &self.url, e))
    }
}

/// Whether a queue named `name` exists in the client's region (GetQueueUrl;
/// QueueDoesNotExist when it does not).
pub async fn queue_exists(client: &Client, name: &str) -> Result<bool, super::CallFailed> {
    match client.get_queue_url().queue_name(name).send().await {
        Ok(_) => Ok(true),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_queue_does_not_exist()) =>
        {
            Ok(false)
        }
        Err(err) => Err(super::CallFailed::from_sdk(
            "SQS",
            "GetQueueUrl",
            name,
            &err,
        )),
    }
}

//! KMS: whether an alias exists (DescribeKey on `alias/<name>`, NotFoundException when it
//! does not), and whether a key is still live (not scheduled for deletion). Must not
//! decide what a found alias or key means.

use aws_sdk_kms::Client;
use aws_sdk_kms::types::KeyState;

use super::error::CallFailed;

pub async fn alias_exists(client: &Client, alias: &str) -> Result<bool, CallFailed> {
    match client.describe_key().key_id(alias).send().await {
        Ok(_) => Ok(true),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) =>
        {
            Ok(false)
        }
        Err(err) => Err(CallFailed::from_sdk("KMS", "DescribeKey", alias, &err)),
    }
}

/// Whether the key `key` (an id or ARN) is live: `false` when KMS does not know it or it
/// is scheduled for deletion (`PendingDeletion`, what deleting its stack leaves for the
/// 7-30 day waiting period: it can no longer be used and disappears on its own).
pub async fn key_live(client: &Client, key: &str) -> Result<bool, CallFailed> {
    match client.describe_key().key_id(key).send().await {
        Ok(out) => Ok(!out.key_metadata().is_some_and(|m| {
            matches!(
                m.key_state(),
                Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
            )
        })),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) =>
        {
            Ok(false)
        }
        Err(err) => Err(CallFailed::from_sdk("KMS", "DescribeKey", key, &err)),
    }
}
